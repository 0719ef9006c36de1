import datetime as dt

import pytest
from django.utils import timezone

from core.errors import Conflict, InvalidInput, NotFound
from flights.services import create_flight
from inventory.models import HoldState, SeatHold
from orders import services
from orders.models import AuditEntry, Order, OrderState
from orders.selectors import order_status

pytestmark = pytest.mark.django_db


def make_order(flight, order_id=None) -> Order:
    order, _token = services.create_order(flight_code=flight.code, order_id=order_id, actor="test")
    return order


def live_labels(order_id: str) -> list[str]:
    return list(
        SeatHold.objects.filter(order_id=order_id, state__in=[HoldState.HELD, HoldState.CONFIRMED])
        .order_by("seat_id")
        .values_list("seat__label", flat=True)
    )


def test_create_order_is_pending_with_an_unguessable_id_and_audited(flight):
    order, token = services.create_order(flight_code=flight.code, actor="test")
    assert order.state == OrderState.PENDING
    assert order.pk.startswith("o-") and len(order.pk) >= 20
    assert len(token) >= 40 and token not in order.token_hash
    assert AuditEntry.objects.filter(order=order, action="create", to_state="PENDING").count() == 1


def test_create_order_refuses_unknown_flight_and_taken_id(flight):
    with pytest.raises(NotFound) as unknown:
        services.create_order(flight_code="NOPE", actor="test")
    assert "NOPE" in unknown.value.message
    make_order(flight, "o-1")
    with pytest.raises(Conflict) as taken:
        make_order(flight, "o-1")
    assert taken.value.code == "order_id_taken"


def test_a_create_repeated_with_the_same_derived_token_returns_the_order_it_made(flight):
    """The same order id, flight and caller-derived token: the order made before, unchanged and not audited
    again. Another token, or another flight, is the taken id's 409."""
    _first, token = services.create_order(flight_code=flight.code, order_id="o-1", actor="test", token="t" * 43)
    services.select_seats(order_id="o-1", labels=["1A"], actor="test")
    again, same_token = services.create_order(flight_code=flight.code, order_id="o-1", actor="test", token="t" * 43)
    assert (again.pk, again.state, same_token) == ("o-1", OrderState.SEATS_SELECTED, token)
    assert AuditEntry.objects.filter(order_id="o-1", action="create").count() == 1
    with pytest.raises(Conflict):
        services.create_order(flight_code=flight.code, order_id="o-1", actor="test", token="u" * 43)
    other = create_flight(code="FL-002", origin="A", destination="B", departs_at=timezone.now(), rows=2, letters="AB")
    with pytest.raises(Conflict):
        services.create_order(flight_code=other.code, order_id="o-1", actor="test", token="t" * 43)


def test_selecting_seats_holds_them_until_now_plus_hold_time(flight, settings):
    settings.SEAT_HOLD_SECONDS = 900
    order = make_order(flight)
    now = timezone.now()
    order = services.select_seats(order_id=order.pk, labels=["1A", "1B"], actor="test", now=now).order
    assert order.state == OrderState.SEATS_SELECTED
    assert order.hold_expires_at == now + dt.timedelta(seconds=900)
    assert live_labels(order.pk) == ["1A", "1B"]
    assert set(SeatHold.objects.filter(order_id=order.pk).values_list("expires_at", flat=True)) == {
        order.hold_expires_at
    }
    entry = AuditEntry.objects.filter(order=order, action="select_seats").get()
    assert (entry.from_state, entry.to_state, entry.actor) == ("PENDING", "SEATS_SELECTED", "test")


def test_a_new_selection_replaces_the_old_and_extends_kept_seats(flight):
    order = make_order(flight)
    t0 = timezone.now()
    services.select_seats(order_id=order.pk, labels=["1A", "1B"], actor="test", now=t0)
    t1 = t0 + dt.timedelta(minutes=5)
    order = services.select_seats(order_id=order.pk, labels=["1B", "2C"], actor="test", now=t1).order
    assert live_labels(order.pk) == ["1B", "2C"]
    # The original forgot to extend kept seats: 1B must get the new deadline too.
    assert set(
        SeatHold.objects.filter(order_id=order.pk, state=HoldState.HELD).values_list("expires_at", flat=True)
    ) == {order.hold_expires_at}
    assert order.hold_expires_at is not None and order.hold_expires_at > t1
    released = SeatHold.objects.get(order_id=order.pk, seat__label="1A")
    assert (released.state, released.ended_at) == (HoldState.RELEASED, t1)


def test_an_empty_selection_releases_everything_and_returns_to_pending(flight):
    order = make_order(flight)
    services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    order = services.select_seats(order_id=order.pk, labels=[], actor="test").order
    assert order.state == OrderState.PENDING
    assert order.hold_expires_at is None
    assert live_labels(order.pk) == []


def test_seats_of_another_order_are_refused_by_name_and_nothing_changes(flight):
    first, second = make_order(flight), make_order(flight)
    services.select_seats(order_id=first.pk, labels=["1A", "1B"], actor="test")
    services.select_seats(order_id=second.pk, labels=["3A"], actor="test")
    before = Order.objects.get(pk=second.pk).hold_expires_at
    with pytest.raises(Conflict) as refused:
        services.select_seats(order_id=second.pk, labels=["1B", "2A", "1A"], actor="test")
    assert refused.value.code == "seats_taken"
    assert refused.value.extra["seats"] == ["1A", "1B"]
    assert "1A, 1B" in refused.value.message
    # All or nothing: 2A was not held, 3A is still held with its old deadline.
    assert live_labels(second.pk) == ["3A"]
    assert Order.objects.get(pk=second.pk).hold_expires_at == before


def test_a_lapsed_hold_of_another_order_is_free_and_taken_over(flight):
    first, second = make_order(flight), make_order(flight)
    t0 = timezone.now()
    services.select_seats(order_id=first.pk, labels=["1A"], actor="test", now=t0)
    after_deadline = Order.objects.get(pk=first.pk).hold_expires_at
    services.select_seats(order_id=second.pk, labels=["1A"], actor="test", now=after_deadline)
    assert live_labels(second.pk) == ["1A"]
    assert SeatHold.objects.get(order_id=first.pk, seat__label="1A").state == HoldState.EXPIRED
    # The first order is logically expired: it can neither keep its seats nor change them.
    with pytest.raises(Conflict) as lapsed:
        services.select_seats(order_id=first.pk, labels=["1A"], actor="test", now=after_deadline)
    assert lapsed.value.code == "hold_expired"
    assert Order.objects.get(pk=first.pk).state == OrderState.EXPIRED
    assert live_labels(second.pk) == ["1A"]


def test_one_second_before_the_deadline_the_seat_is_still_taken(flight):
    first, second = make_order(flight), make_order(flight)
    services.select_seats(order_id=first.pk, labels=["1A"], actor="test")
    deadline = Order.objects.get(pk=first.pk).hold_expires_at
    assert deadline is not None
    with pytest.raises(Conflict):
        services.select_seats(order_id=second.pk, labels=["1A"], actor="test", now=deadline - dt.timedelta(seconds=1))


def test_status_reports_a_lapsed_hold_as_expired_before_any_sweeper(flight):
    order = make_order(flight)
    order = services.select_seats(order_id=order.pk, labels=["1A"], actor="test").order
    status = order_status(order=order, now=order.hold_expires_at)
    assert status["State"] == "EXPIRED" and status["Seats"] == []
    assert Order.objects.get(pk=order.pk).state == OrderState.SEATS_SELECTED  # nothing written by a read


def test_the_expiry_batch_takes_only_lapsed_holds_and_each_once(flight):
    order = make_order(flight)
    order = services.select_seats(order_id=order.pk, labels=["1A"], actor="test").order
    assert order.hold_expires_at is not None
    assert services.expire_lapsed_holds(now=order.hold_expires_at - dt.timedelta(seconds=1)) == []
    assert services.expire_lapsed_holds(now=order.hold_expires_at) == [order.pk]
    assert services.expire_lapsed_holds(now=order.hold_expires_at) == []
    order.refresh_from_db()
    assert order.state == OrderState.EXPIRED
    assert SeatHold.objects.get(order_id=order.pk).state == HoldState.EXPIRED
    assert AuditEntry.objects.filter(order=order, action="expire", actor="system:timers").count() == 1


def test_cancel_releases_everything_and_then_refuses_changes(flight):
    order = make_order(flight)
    services.select_seats(order_id=order.pk, labels=["1A", "1B"], actor="test")
    order = services.cancel_order(order_id=order.pk, actor="test").order
    assert order.state == OrderState.CANCELLED
    assert live_labels(order.pk) == []
    assert set(SeatHold.objects.filter(order_id=order.pk).values_list("state", flat=True)) == {HoldState.RELEASED}
    with pytest.raises(Conflict) as again:
        services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    assert again.value.code == "wrong_state"
    with pytest.raises(Conflict):
        services.cancel_order(order_id=order.pk, actor="test")


@pytest.mark.parametrize(
    "state",
    [OrderState.PROCESSING_PAYMENT, OrderState.CONFIRMED, OrderState.FAILED, OrderState.EXPIRED, OrderState.CANCELLED],
)
def test_seats_can_change_only_while_pending_or_selected(flight, state):
    order = make_order(flight)
    Order.objects.filter(pk=order.pk).update(state=state)
    with pytest.raises(Conflict) as refused:
        services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    if state == OrderState.EXPIRED:
        assert refused.value.code == "hold_expired" and "Create a new order" in refused.value.message
    else:
        assert refused.value.code == "wrong_state" and state in refused.value.message
    assert live_labels(order.pk) == []


def test_selection_input_limits(flight, settings):
    order = make_order(flight)
    with pytest.raises(InvalidInput) as unknown:
        services.select_seats(order_id=order.pk, labels=["1A", "9Z", "6A"], actor="test")
    assert unknown.value.extra["seats"] == ["6A", "9Z"]
    with pytest.raises(InvalidInput) as repeated:
        services.select_seats(order_id=order.pk, labels=["1A", "1A"], actor="test")
    assert repeated.value.code == "duplicate_seats"
    settings.MAX_SEATS_PER_ORDER = 9
    with pytest.raises(InvalidInput) as too_many:
        services.select_seats(order_id=order.pk, labels=[f"{r}{c}" for r in (1, 2) for c in "ABCDE"], actor="test")
    assert too_many.value.code == "too_many_seats"
    assert live_labels(order.pk) == []
    with pytest.raises(NotFound):
        services.select_seats(order_id="nope", labels=["1A"], actor="test")


def test_the_state_field_cannot_be_assigned_directly(flight):
    order = make_order(flight)
    with pytest.raises(AttributeError):
        order.state = OrderState.CONFIRMED


def test_changing_seats_extends_the_hold_only_up_to_the_cap(flight, settings):
    settings.SEAT_HOLD_SECONDS, settings.HOLD_EXTENSION_CAP_SECONDS = 10, 15
    order = make_order(flight)
    t0 = timezone.now()
    order = services.select_seats(order_id=order.pk, labels=["1A"], actor="test", now=t0).order
    assert order.hold_expires_at == t0 + dt.timedelta(seconds=10)
    order = services.select_seats(
        order_id=order.pk, labels=["1A", "1B"], actor="test", now=t0 + dt.timedelta(seconds=8)
    ).order
    assert order.hold_expires_at == t0 + dt.timedelta(seconds=15)  # not t0 + 18
    services.select_seats(order_id=order.pk, labels=[], actor="test", now=t0 + dt.timedelta(seconds=9))
    order = services.select_seats(
        order_id=order.pk, labels=["2A"], actor="test", now=t0 + dt.timedelta(seconds=12)
    ).order
    assert order.hold_expires_at == t0 + dt.timedelta(seconds=15)  # letting go and holding again does not reset it
    with pytest.raises(Conflict) as over:
        services.select_seats(order_id=order.pk, labels=["2B"], actor="test", now=t0 + dt.timedelta(seconds=15))
    assert over.value.code == "hold_expired"
