"""The operators' dashboard page in the admin: GET /admin/dashboard/ (staff only).

The page is drawn on the server (SVG from the templates, figures from selectors.py and inventory's
flight_seats, geometry from charts.py) and reads the same without JavaScript. With JavaScript,
static/operations/dashboard.js asks for `?panels=1` every DASHBOARD_REFRESH_SECONDS and swaps the panels
in: a short poll, so that the page costs the same few statements whoever else is watching, and no stream
stays open per operator.
"""

import datetime as dt

from django.conf import settings
from django.contrib import admin
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from inventory.selectors import flight_seats
from operations import charts, selectors

# At least 3:1 against the panel, light or dark (WCAG 1.4.11).
HOLD_COLOURS = {"made": "#1971c2", "released": "#868e96", "expired": "#d9480f", "confirmed": "#2b8a3e"}
OUTCOME_COLOURS = {
    "success": "#2b8a3e",
    "running": "#4263eb",
    "declined": "#c92a2a",
    "timeout": "#e67700",
    "error": "#862e9c",
    "lost": "#495057",
}
LATENESS_COLOURS = {"p50": "#1971c2", "p99": "#d9480f", "max": "#c92a2a"}


def streams_processes_panel(now: dt.datetime) -> dict:
    """The streams processes' reports (one statement), totalled: how each learns of new events, its streams."""
    reports = selectors.fresh_process_reports(now=now)
    streams: dict[str, int] = {}
    for report in reports:
        for kind, n in report.streams.items():
            streams[kind] = streams.get(kind, 0) + n
    return {
        "reports": reports,
        "streams": sorted(streams.items()),
        "streams_total": sum(streams.values()),
        "degraded": [r for r in reports if r.degraded],
    }


def _legend(series: dict[str, dict[dt.datetime, int]], colours: dict[str, str]) -> list[tuple[str, str, int]]:
    """(name, colour, total over the hour) per series."""
    return [(name, colours.get(name, "#888"), sum(values.values())) for name, values in series.items()]


def _rows(start: dt.datetime, series: dict[str, dict], *, missing: int | None = None) -> list:
    """The text alternative of a time chart: one row per minute that has anything, newest first. `missing`
    is what a minute without a value shows: 0 for counts, None ("–", nothing measured) for lateness."""
    minutes = charts.minutes(start, selectors.WINDOW_MINUTES)
    rows = [(m, [series[name].get(m, missing) for name in series]) for m in minutes]
    return [(m, values) for m, values in reversed(rows) if any(values)]


def panels(now: dt.datetime) -> dict:
    """Everything the page shows: nine statements (selectors.py and inventory's flight_seats), the rest in
    memory."""
    start, count = selectors.window_start(now), selectors.WINDOW_MINUTES
    flights = [(f, charts.seat_bar(booked=f.booked, held=f.held, available=f.available)) for f in flight_seats(now=now)]
    holds = selectors.holds_per_minute(now=now)
    attempts = selectors.attempts_per_minute(now=now)
    succeeded = sum(attempts.get("success", {}).values())
    finished = sum(sum(v.values()) for outcome, v in attempts.items() if outcome != "running")
    hour, per_minute = selectors.expiry_lateness(now=now)
    lateness = {
        name: {m: getattr(late, name) for m, late in per_minute.items() if getattr(late, name) is not None}
        for name in LATENESS_COLOURS
    }
    return {
        "now": now,
        "window_start": start,
        "flights": flights,
        "holds_chart": charts.lines(start, count, holds, HOLD_COLOURS, counts=True),  # type: ignore[arg-type]
        "holds_legend": _legend(holds, HOLD_COLOURS),
        "holds_rows": _rows(start, holds, missing=0),
        "attempts_chart": charts.stacked_bars(start, count, attempts, OUTCOME_COLOURS),
        "attempts_legend": _legend(attempts, OUTCOME_COLOURS),
        "attempts_rows": _rows(start, attempts, missing=0),
        "success_rate": round(100 * succeeded / finished) if finished else None,
        "lateness_hour": hour,
        "lateness_chart": charts.lines(start, count, lateness, LATENESS_COLOURS, unit=" s", threshold=1.0),
        "lateness_legend": [(name, colour, None) for name, colour in LATENESS_COLOURS.items()],
        "lateness_rows": _rows(start, lateness),
        "heartbeats": selectors.heartbeats(now=now),
        "web": streams_processes_panel(now),
        "after_booking": selectors.after_booking(now=now),
    }


@require_safe
@never_cache
def dashboard(request):
    """The page, or with `?panels=1` only its panels (what the script swaps in on each poll)."""
    context = {
        **panels(timezone.now()),
        "refresh_seconds": settings.DASHBOARD_REFRESH_SECONDS,
        "report_window": 3 * settings.HEARTBEAT_SECONDS,
    }
    if request.GET.get("panels"):
        return render(request, "admin/operations/panels.html", context)
    return render(request, "admin/operations/dashboard.html", {**admin.site.each_context(request), **context,
                  "title": "Service dashboard"})  # fmt: skip
