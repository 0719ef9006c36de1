"""The dashboard's charts as geometry for the templates to draw as SVG (templates/admin/operations/).

Nothing here reads the database: selectors.py gives the figures, and these functions turn them into
rectangles and polylines in a fixed viewBox, so the page needs no script and no charting library.
"""

import datetime as dt
from dataclasses import dataclass

# viewBox of a time chart; the page scales it to its column (about 300 to 600 px wide), so its text,
# LABEL_SIZE units high (dashboard.css), is drawn 10 to 20 px high.
WIDTH, HEIGHT = 400, 130
LABEL_SIZE = 13
LEFT, BOTTOM, TOP = 46, 20, 10  # room for the y labels, the time labels and the top label


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    name: str
    value: float
    colour: str


@dataclass(frozen=True)
class Line:
    name: str
    points: str  # "x,y x,y ..." for <polyline points>
    colour: str


@dataclass(frozen=True)
class TimeChart:
    width: int
    height: int
    top: float
    bottom: float
    left: float
    y_max: float
    y_max_label: str
    ticks: list[tuple[float, str]]  # (x, "HH:MM") every 15 minutes
    rects: list[Rect]
    lines: list[Line]
    threshold: tuple[float, str, float] | None  # (y, label, label's dy) of a horizontal rule


def minutes(start: dt.datetime, count: int) -> list[dt.datetime]:
    return [start + dt.timedelta(minutes=i) for i in range(count)]


def _nice(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^n at or above `value` (a round top for the y axis)."""
    if value <= 0:
        return 1
    step = 10 ** int(f"{value:e}".split("e")[1])
    for factor in (1, 2, 5, 10):
        if factor * step >= value:
            return factor * step
    return 10 * step


def _frame(start: dt.datetime, count: int, y_max: float, unit: str) -> dict:
    slot = (WIDTH - LEFT) / count
    ticks = [(LEFT + i * slot, m.strftime("%H:%M")) for i, m in enumerate(minutes(start, count)) if m.minute % 15 == 0]
    label = f"{y_max:g}{unit}"
    return {"width": WIDTH, "height": HEIGHT, "top": TOP, "bottom": HEIGHT - BOTTOM, "left": LEFT,
            "y_max": y_max, "y_max_label": label, "ticks": ticks}  # fmt: skip


def _y(value: float, y_max: float) -> float:
    return round(HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * min(value, y_max) / y_max, 1)


def stacked_bars(
    start: dt.datetime, count: int, series: dict[str, dict[dt.datetime, int]], colours: dict[str, str]
) -> TimeChart:
    """One bar per minute, its parts stacked in the order of `series`."""
    times = minutes(start, count)
    totals = [sum(s.get(m, 0) for s in series.values()) for m in times]
    y_max = _nice(max(totals, default=0))
    slot = (WIDTH - LEFT) / count
    rects = []
    for i, m in enumerate(times):
        base = 0
        for name, values in series.items():
            if value := values.get(m, 0):
                y_top, y_base = _y(base + value, y_max), _y(base, y_max)
                x, width = round(LEFT + i * slot + 1, 1), round(slot - 2, 1)
                rects.append(Rect(x, y_top, width, round(y_base - y_top, 1), name, value, colours.get(name, "#888")))
                base += value
    return TimeChart(**_frame(start, count, y_max, ""), rects=rects, lines=[], threshold=None)


def lines(
    start: dt.datetime,
    count: int,
    series: dict[str, dict[dt.datetime, float]],
    colours: dict[str, str],
    *,
    unit: str = "",
    threshold: float | None = None,
    counts: bool = False,
) -> TimeChart:
    """One polyline per series, a point at the middle of each minute that has a value; with `counts`, every
    minute has one (a minute with nothing counted is 0, not a gap the line would bridge)."""
    if counts:
        series = {name: {m: values.get(m, 0) for m in minutes(start, count)} for name, values in series.items()}
    times = minutes(start, count)
    highest = max([v for s in series.values() for v in s.values()] + [threshold or 0], default=0)
    y_max = _nice(highest)
    slot = (WIDTH - LEFT) / count
    drawn = []
    for name, values in series.items():
        points = [
            f"{round(LEFT + (i + 0.5) * slot, 1)},{_y(values[m], y_max)}" for i, m in enumerate(times) if m in values
        ]
        if len(points) == 1:  # a lone minute still shows, as a short dash
            x, y = points[0].split(",")
            points = [f"{float(x) - slot / 2:.1f},{y}", f"{float(x) + slot / 2:.1f},{y}"]
        drawn.append(Line(name, " ".join(points), colours.get(name, "#888")))
    rule = None
    if threshold is not None:  # its label above the rule, or below it when the rule is the top of the axis
        rule_y = _y(threshold, y_max)
        rule = (rule_y, f"{threshold:g}{unit}", float(LABEL_SIZE) if rule_y - LABEL_SIZE < TOP else -3.0)
    return TimeChart(**_frame(start, count, y_max, unit), rects=[], lines=drawn, threshold=rule)


@dataclass(frozen=True)
class SeatBar:
    """A flight's seats as one bar: booked, held, available, each a share of 100."""

    parts: list[tuple[str, float, float]]  # (state, x, width) in a viewBox 100 wide


def seat_bar(*, booked: int, held: int, available: int) -> SeatBar:
    total = booked + held + available
    parts, x = [], 0.0
    for state, n in (("booked", booked), ("held", held), ("available", available)):
        width = round(100 * n / total, 2) if total else 0
        if width:
            parts.append((state, round(x, 2), width))
        x += width
    return SeatBar(parts)
