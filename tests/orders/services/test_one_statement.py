"""A seat change on PostgreSQL is one hand-written statement (orders/services/seat_change_sql.py,
inventory/holds_sql.py, core/statement.py); elsewhere it is the ORM's statements. Both must leave the same rows
and say the same things: the holds, the order, the audit row and both events."""

import dataclasses
import datetime as dt
import json

import pytest
from django.utils import timezone

from core.errors import InvalidInput
from core.events.eventstream import EventRow
from inventory.models import SeatHold
from orders import selectors, services
from orders.models import AuditEntry, Order

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

T0 = timezone.now()


@pytest.fixture
def flight(db):
    """Twelve rows: labels of two digits sort after those of one in the seat map, not before."""
    from flights.services import create_flight

    return create_flight(code="BIG-1", origin="X", destination="Y", departs_at=T0, rows=12, letters="ABCDEF")


def scenario(flight) -> dict:
    """Every kind of change a selection makes, between two orders; what it left."""
    first, _ = services.create_order(flight_code=flight.code, actor="test", order_id="first")
    second, _ = services.create_order(flight_code=flight.code, actor="test", order_id="second")
    at = [T0 + dt.timedelta(seconds=s) for s in range(6)]
    services.select_seats(order_id=first.pk, labels=["1A", "1B"], actor="test", now=at[0])  # new holds
    services.select_seats(
        order_id=first.pk, labels=["1B", "2C", "10F", "9A"], actor="test", now=at[1]
    )  # keep, drop, add
    with pytest.raises(services.SeatsTaken) as taken:  # refused by the write path, not the early read
        services.select_seats(order_id=second.pk, labels=["3A", "2C"], actor="test", now=at[2])  # nothing changes
    assert taken.value.extra["seats"] == ["2C"]
    with pytest.raises(InvalidInput) as unknown:
        services.select_seats(order_id=second.pk, labels=["3A", "13A"], actor="test", now=at[2])
    assert unknown.value.code == "unknown_seats" and unknown.value.extra["seats"] == ["13A"]
    services.select_seats(order_id=second.pk, labels=["3A"], actor="test", now=at[2])
    services.select_seats(order_id=first.pk, labels=[], actor="test", now=at[3])  # back to PENDING
    services.select_best_seats(order_id=second.pk, count=4, actor="test", now=at[4])  # the server chooses
    services.select_best_seats(order_id=first.pk, count=2, actor="test", now=at[5])
    holds = sorted(
        (h.order_id, h.seat.label, h.state, h.expires_at, h.ended_at) for h in SeatHold.objects.select_related("seat")
    )
    orders = sorted(
        Order.objects.values_list("id", "state", "hold_expires_at", "first_held_at", "seat_prices", "currency")
    )
    audit = [
        (a.order_id, a.action, a.from_state, a.to_state, a.actor, a.reason, a.details)
        for a in AuditEntry.objects.order_by("id")
    ]
    events = [
        (e.channel, e.type, e.eid, json.loads(e.data))
        for e in EventRow.objects.filter(eid__gt=0).order_by("channel", "eid")
    ]
    return {"holds": holds, "orders": orders, "audit": audit, "events": events}


@pytest.fixture(autouse=True)
def _without_the_early_refusal(monkeypatch):
    """The early read never refuses here, so that both write paths meet the taken seat themselves."""
    read = selectors.read_before_seat_change

    def read_nothing_taken(**kwargs):
        before = read(**kwargs)
        return dataclasses.replace(before, taken=[]) if before else None

    monkeypatch.setattr(selectors, "read_before_seat_change", read_nothing_taken)


@pytest.fixture
def orm_result(flight, settings):
    settings.SEAT_CHANGE_ONE_STATEMENT = False
    result = scenario(flight)
    settings.SEAT_CHANGE_ONE_STATEMENT = True
    from core.events.eventstream import EventCounter

    SeatHold.objects.all().delete()
    AuditEntry.objects.all().delete()
    EventRow.objects.all().delete()
    EventCounter.objects.all().delete()
    Order.objects.all().delete()
    return result


def test_the_one_statement_change_leaves_what_the_orms_leaves(flight, orm_result):
    one = scenario(flight)
    assert one["holds"] == orm_result["holds"]
    assert one["orders"] == orm_result["orders"]
    assert one["audit"] == orm_result["audit"]
    assert one["events"] == orm_result["events"]
