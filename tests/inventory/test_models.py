"""The one definition of a live hold (`SeatHold.objects.live`), and the two other places that must say
the same: `still_counts` for a row in hand, and the hand-written SQL of the early refusal."""

import datetime as dt

import pytest
from django.utils import timezone

from inventory.models import HoldState, SeatHold
from inventory.services import still_counts
from orders import services
from orders.selectors import read_before_seat_change

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
    read = read_before_seat_change(order_id=asker.pk, labels=labels, now=NOW)
    assert read is not None and set(read.taken) == LIVE


def test_the_hand_written_live_condition_agrees_with_the_definition(holds):
    from django.db import connection

    from flights.models import Seat
    from inventory.models import live_sql

    sql = (
        f"SELECT s.label FROM {SeatHold._meta.db_table} h JOIN {Seat._meta.db_table} s ON s.id = h.seat_id "
        f"WHERE {live_sql('h')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datetimefield_value(NOW)])
        assert {label for (label,) in cursor.fetchall()} == LIVE


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("one_statement", [True, False], ids=["one statement", "ORM"])
def test_a_seat_change_takes_exactly_the_seats_that_are_not_live(holds, flight, settings, one_statement):
    """The hold path (one statement on PostgreSQL, the ORM's elsewhere) refuses exactly the live seats and
    takes over the others, lapsed holds included."""
    settings.SEAT_CHANGE_ONE_STATEMENT = one_statement
    asker, _ = services.create_order(flight_code=flight.code, actor="test")
    labels = [label for label, _state, _expires in ROWS]
    with pytest.raises(services.SeatsTaken) as refused:
        services.select_seats(order_id=asker.pk, labels=labels, actor="test", now=NOW)
    assert set(refused.value.extra["seats"]) == LIVE
    free = [label for label in labels if label not in LIVE]
    change = services.select_seats(order_id=asker.pk, labels=free, actor="test", now=NOW)
    assert change.status["Seats"] == free
    assert set(SeatHold.objects.live(at=NOW).filter(order_id=asker.pk).values_list("seat__label", flat=True)) == set(
        free
    )
    lapsed = SeatHold.objects.filter(order_id=holds.pk, seat__label__in=["1B", "1C"])
    assert set(lapsed.values_list("state", flat=True)) == {HoldState.EXPIRED}


def test_the_early_read_gives_the_keys_and_applies_only_where_the_locked_path_would_refuse(holds, flight):
    from orders.access import hash_token
    from orders.models import Order, OrderState
    from orders.selectors import read_before_seat_change

    asker, token = services.create_order(flight_code=flight.code, actor="test")
    read = read_before_seat_change(order_id=asker.pk, labels=["1A", "1B"], now=NOW)
    assert read is not None and read.keys.token_hash == hash_token(token) and read.taken == ["1A"]
    assert read_before_seat_change(order_id="nobody", labels=["1A"], now=NOW) is None
    nothing = read_before_seat_change(order_id=asker.pk, labels=[], now=NOW)
    assert nothing is not None and nothing.keys.token_hash == hash_token(token) and nothing.taken == []
    # A label the flight has not: the change answers 400 for it, so nothing counts as taken.
    unknown = read_before_seat_change(order_id=asker.pk, labels=["1A", "9Z"], now=NOW)
    assert unknown is not None and unknown.taken == []
    # An order that cannot change seats: the change answers for its state, not for the seats.
    Order.objects.filter(pk=asker.pk).update(state=OrderState.EXPIRED)
    assert read_before_seat_change(order_id=asker.pk, labels=["1A"], now=NOW).taken == []  # type: ignore[union-attr]
