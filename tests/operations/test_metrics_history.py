"""The figures of /metrics read only live work and what settled since the last refresh (orders/metrics.py),
yet count every row once: the same as counting whole tables, before and after rows settle, and after old
rows are pruned (counters never go down)."""

import datetime as dt

import pytest
from django.db.models import Count
from django.utils import timezone

from flights.services import create_flight
from inventory.models import SeatHold
from orders import queue
from orders.metrics import database_figures
from orders.models import AttemptOutcome, Order, PaymentAttempt
from tests.operations.burst import run_burst, spread_history

pytestmark = pytest.mark.django_db


def by(queryset, field: str) -> dict[str, int]:
    return dict(queryset.values_list(field).annotate(n=Count("pk")).order_by())


def whole_tables() -> dict[str, dict[str, int]]:
    """The figures as counting every row of each table gives them."""
    return {
        "orders": by(Order.objects.all(), "state"),
        "holds": by(SeatHold.objects.all(), "state"),
        "attempts": by(PaymentAttempt.objects.all(), "outcome"),
    }


def counted(figures: dict) -> dict[str, dict[str, int]]:
    return {kind: {key: n for key, n in figures[kind].items() if n} for kind in ("orders", "holds", "attempts")}


def test_each_row_is_counted_once_as_it_settles_and_stays_counted_when_pruned(flight, monkeypatch):
    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)
    past = create_flight(
        code="PAST-1", origin="A", destination="B", departs_at=timezone.now(), rows=30, letters="ABCDEF"
    )
    spread_history([past.code], minutes=20)
    run_burst(flight.code)
    now, expected = timezone.now(), whole_tables()
    assert set(expected["holds"]) == {"HELD", "RELEASED", "EXPIRED", "CONFIRMED"}, expected
    figures = database_figures(None, now=now)
    assert counted(figures) == expected
    for minutes in (1, 4, 9, 30):  # the settled point passes the rows a few at a time, then all of them
        figures = database_figures(figures["settled"], now=now + dt.timedelta(minutes=minutes))
        assert counted(figures) == expected, minutes
    assert figures["complete"]
    assert figures["expiry"]["total"] >= 2

    SeatHold.objects.exclude(state="HELD").delete()  # pruned, as retention prunes ended holds
    PaymentAttempt.objects.exclude(outcome=AttemptOutcome.RUNNING).delete()
    figures = database_figures(figures["settled"], now=now + dt.timedelta(minutes=31))
    assert counted(figures) == expected


def test_a_first_refresh_on_a_long_past_catches_up_in_turns(flight, monkeypatch):
    from orders import metrics

    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)
    run_burst(flight.code)
    expected = whole_tables()
    monkeypatch.setattr(metrics, "CATCH_UP_SECONDS", 0)  # one step per refresh
    monkeypatch.setattr(metrics, "CATCH_UP_STEP", dt.timedelta(minutes=1))
    now = timezone.now() + dt.timedelta(minutes=10)
    figures = database_figures(None, now=now)
    turns = 1
    while not figures["complete"]:
        figures = database_figures(figures["settled"], now=now)
        turns += 1
    assert turns > 2
    assert counted(figures) == expected
