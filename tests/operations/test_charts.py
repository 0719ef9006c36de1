"""The charts' geometry (operations/charts.py) and their text alternatives (operations/dashboard.py)."""

import datetime as dt

from operations import charts, dashboard, selectors

START = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)


def points(chart: charts.TimeChart) -> list[tuple[float, float]]:
    pairs = [p.split(",") for p in chart.lines[0].points.split()]
    return [(float(x), float(y)) for x, y in pairs]


def test_a_count_line_drops_to_zero_in_a_minute_with_nothing_counted():
    """Review 17, defect 8: 2 at 10:00 and 4 at 10:02 is not a line from 2 to 4 across 10:01."""
    m = charts.minutes(START, 3)
    chart = charts.lines(START, 3, {"made": {m[0]: 2, m[2]: 4}}, {}, counts=True)
    assert [y for _x, y in points(chart)] == [charts._y(2, chart.y_max), chart.bottom, charts._y(4, chart.y_max)]


def test_a_lateness_line_keeps_its_gaps():
    m = charts.minutes(START, 3)
    chart = charts.lines(START, 3, {"p50": {m[0]: 0.2, m[2]: 0.3}}, {})
    assert len(points(chart)) == 2  # nothing measured at 10:01: no point, not 0 s


def test_the_per_minute_table_says_0_for_counts_and_a_dash_for_nothing_measured(monkeypatch):
    monkeypatch.setattr(selectors, "WINDOW_MINUTES", 3)
    m = charts.minutes(START, 3)
    counts = dashboard._rows(START, {"made": {m[0]: 2}, "expired": {m[1]: 1}}, missing=0)
    assert counts == [(m[1], [0, 1]), (m[0], [2, 0])]
    lateness = dashboard._rows(START, {"p50": {m[0]: 0.2}, "max": {m[1]: 0.5}})
    assert lateness == [(m[1], [None, 0.5]), (m[0], [0.2, None])]


def test_the_threshold_label_goes_below_the_rule_when_the_rule_is_the_top_of_the_axis():
    """Review 17, defect 7: 'alert at 1 s' at the top of the chart was drawn above it, clipped."""
    m = charts.minutes(START, 3)
    at_top = charts.lines(START, 3, {"p99": {m[0]: 0.3}}, {}, unit=" s", threshold=1.0)
    assert at_top.threshold is not None
    y, label, dy = at_top.threshold
    assert (y, label) == (at_top.top, "1 s") and y + dy - charts.LABEL_SIZE >= 0 and dy > 0
    lower = charts.lines(START, 3, {"p99": {m[0]: 4.0}}, {}, unit=" s", threshold=1.0)
    assert lower.threshold is not None
    y, _label, dy = lower.threshold
    assert dy < 0 and y + dy - charts.LABEL_SIZE >= 0
