"""The one definition of a live hold (`SeatHold.objects.live`), and the two other places that must say
the same: `still_counts` for a row in hand, and the hand-written SQL of the early refusal."""

import datetime as dt

import pytest
from django.utils import timezone

from inventory.models import HoldState, SeatHold
from inventory.services import still_counts
from orders import services
from orders.services.seats import visibly_taken

pytestmark = pytest.mark.django_db

NOW = timezone.now()
# (seat, state, expires_at): every kind of row a seat can have
ROWS = [
    ("1A", HoldState.HELD, NOW + dt.timedelta(seconds=1)),  # held, deadline ahead: live
    ("1B", HoldState.HELD, NOW),  # deadline now: lapsed
    ("1C", HoldState.HELD, NOW - dt.timedelta(seconds=1)),  # lapsed, not yet swept
    ("1D", HoldState.HELD, None),  # payment running: live, cannot lapse
    ("1E", HoldState.CONFIRMED, None),  # booked: live
    ("1F", HoldState.RELEASED, NOW + dt.timedelta(minutes=5)),
    ("2A", HoldState.EXPIRED, NOW + dt.timedelta(minutes=5)),
]
LIVE = {"1A", "1D", "1E"}


@pytest.fixture
def holds(flight):
    holder, _ = services.create_order(flight_code=flight.code, actor="test")
    for label, state, expires_at in ROWS:
        SeatHold.objects.create(
            order_id=holder.pk, seat=flight.seats.get(label=label), state=state, expires_at=expires_at
        )
    return holder


def test_the_queryset_is_the_definition(holds):
    assert set(SeatHold.objects.live(at=NOW).values_list("seat__label", flat=True)) == LIVE


def test_a_row_in_hand_counts_exactly_when_the_queryset_says_it_is_live(holds):
    assert {hold.seat.label for hold in SeatHold.objects.select_related("seat") if still_counts(hold, NOW)} == LIVE


def test_the_early_refusals_sql_agrees_with_the_definition(holds, flight):
    asker, _ = services.create_order(flight_code=flight.code, actor="test")  # another order, PENDING
    labels = [label for label, _state, _expires in ROWS]
    assert set(visibly_taken(order_id=asker.pk, labels=labels, now=NOW)) == LIVE
