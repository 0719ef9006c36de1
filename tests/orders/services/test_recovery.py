"""Holding an ended order's seats again: a new order with the seats still free, the names and the email
carried over; a seat taken meanwhile left out and named; only ended orders; asking twice makes one order."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from core.errors import Conflict
from orders import queue, services
from orders.clients import ClientKeys
from orders.models import AuditEntry, Order, OrderState
from orders.selectors import order_status, waiting_passengers
from orders.services import recovery
from tests.orders.services.test_payments import DECLINED

pytestmark = pytest.mark.django_db

NAMES = [
    {"seat": "1A", "firstName": "Ada", "lastName": "Lovelace"},
    {"seat": "1B", "firstName": "Grace", "lastName": "Hopper"},
]
CLIENT = ClientKeys(address="a" * 32, session="s" * 32)


def holding(flight, seats=("1A", "1B"), names=NAMES) -> Order:
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=list(seats), actor="test")
    services.set_passengers(order_id=order.pk, passengers=names, email="ada@example.com", actor="test")
    return order


def declined_three_times(order: Order, monkeypatch) -> None:
    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)
    services.submit_payment(order_id=order.pk, code="12345", actor="test")
    t = timezone.now()
    for number in (1, 2, 3):
        t += dt.timedelta(minutes=1)  # past any backoff
        assert services.start_payment_attempt(order_id=order.pk, now=t) is not None
        services.finish_payment_attempt(order_id=order.pk, number=number, result=DECLINED, now=t)
    assert Order.objects.get(pk=order.pk).state == OrderState.FAILED


def test_after_a_declined_payment_the_same_seats_names_and_email_are_held_by_a_new_order(flight, monkeypatch):
    ended = holding(flight)
    declined_three_times(ended, monkeypatch)
    again = services.hold_again(order_id=ended.pk, actor="session@test", client=CLIENT)
    assert (again.held, again.taken, again.unseated, again.repeated) == (["1A", "1B"], [], [], False)
    status = order_status(order=Order.objects.get(pk=again.order.pk))
    assert (status["State"], status["Seats"], status["FlightID"]) == ("SEATS_SELECTED", ["1A", "1B"], flight.code)
    assert (status["Passengers"], status["ContactEmail"]) == (NAMES, "ada@example.com")
    assert (again.order.client_address, again.order.client_session) == (CLIENT.address, CLIENT.session)
    assert Order.objects.get(pk=ended.pk).state == OrderState.FAILED  # the ended order stays as it ended
    entry = AuditEntry.objects.get(order_id=ended.pk, action="hold_again")
    assert entry.details == {"new_order": again.order.pk, "held": ["1A", "1B"], "taken": []}
    assert (entry.from_state, entry.to_state, entry.actor) == ("FAILED", "FAILED", "session@test")
    made = AuditEntry.objects.filter(order_id=again.order.pk).values_list("action", flat=True)
    assert list(made) == ["create", "select_seats", "passengers"]


def test_a_seat_taken_meanwhile_is_left_out_and_named_with_its_passenger(flight, settings):
    ended = holding(flight)
    later = timezone.now() + dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS + 1)
    services.expire_lapsed_holds(now=later)
    assert Order.objects.get(pk=ended.pk).state == OrderState.EXPIRED
    other, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=other.pk, labels=["1B"], actor="test", now=later)
    again = services.hold_again(order_id=ended.pk, actor="test", client=None, now=later)
    assert (again.held, again.taken, again.unseated) == (["1A"], ["1B"], [NAMES[1]])
    new = Order.objects.get(pk=again.order.pk)
    status = order_status(order=new, now=later)
    assert (status["Seats"], status["Passengers"]) == (["1A"], [NAMES[0]])
    assert waiting_passengers(new, seats=status["Seats"]) == [NAMES[1]]  # for the next seat chosen
    assert order_status(order=Order.objects.get(pk=other.pk), now=later)["Seats"] == ["1B"]


def test_a_lapsed_hold_not_swept_yet_expires_and_is_held_again(flight, settings):
    ended = holding(flight, seats=["2C"], names=[{"seat": "2C", "firstName": "Ada", "lastName": "Lovelace"}])
    later = timezone.now() + dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS + 1)
    again = services.hold_again(order_id=ended.pk, actor="test", client=None, now=later)
    assert again.held == ["2C"]
    assert Order.objects.get(pk=ended.pk).state == OrderState.EXPIRED
    assert AuditEntry.objects.filter(order_id=ended.pk, action="expire").count() == 1


def test_with_every_seat_taken_the_new_order_has_none_but_keeps_the_email(flight):
    ended = holding(flight)
    services.cancel_order(order_id=ended.pk, actor="test")
    other, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=other.pk, labels=["1A", "1B"], actor="test")
    again = services.hold_again(order_id=ended.pk, actor="test", client=None)
    assert (again.held, again.taken, again.unseated) == ([], ["1A", "1B"], NAMES)
    new = Order.objects.get(pk=again.order.pk)
    assert (new.state, new.contact_email) == (OrderState.PENDING, "ada@example.com")


@pytest.mark.parametrize("state", ["PENDING", "SEATS_SELECTED", "CONFIRMED"])
def test_only_an_order_that_ended_unpaid_is_held_again(flight, state, monkeypatch):
    order = holding(flight)
    if state == "PENDING":
        services.select_seats(order_id=order.pk, labels=[], actor="test")
    if state == "CONFIRMED":
        Order.objects.filter(pk=order.pk).update(state=state)  # as a payment leaves it; its path is tested elsewhere
    with pytest.raises(Conflict) as refused:
        services.hold_again(order_id=order.pk, actor="test", client=None)
    assert (refused.value.code, refused.value.status) == ("not_ended", 409)
    assert Order.objects.count() == 1
    assert not AuditEntry.objects.filter(action="hold_again").exists()


def test_asking_twice_gives_the_same_new_order(flight):
    ended = holding(flight)
    services.cancel_order(order_id=ended.pk, actor="test")
    first = services.hold_again(order_id=ended.pk, actor="test", client=None)
    second = services.hold_again(order_id=ended.pk, actor="test", client=None)
    assert (second.order.pk, second.held, second.taken, second.repeated) == (first.order.pk, ["1A", "1B"], [], True)
    assert Order.objects.count() == 2
    assert AuditEntry.objects.filter(action="hold_again").count() == 1


CLICKS = 4


def clicks_at_once(order_id: str) -> set[str]:
    """CLICKS requests to hold the same ended order again, at the same instant; the new orders' ids."""
    start, made = threading.Barrier(CLICKS), set()

    def click():
        try:
            start.wait()
            made.add(services.hold_again(order_id=order_id, actor="test", client=None).order.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(CLICKS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return made


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_clicks_at_the_same_instant_make_one_new_order(flight):
    ended = holding(flight)
    services.cancel_order(order_id=ended.pk, actor="test")
    made = clicks_at_once(ended.pk)
    assert len(made) == 1 and Order.objects.count() == 2
    assert AuditEntry.objects.filter(action="hold_again").count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_control_without_the_ended_orders_lock_clicks_at_once_make_several(flight, monkeypatch):
    ended = holding(flight)
    services.cancel_order(order_id=ended.pk, actor="test")
    monkeypatch.setattr(
        recovery, "lock_order", lambda order_id: Order.objects.select_related("flight").get(pk=order_id)
    )
    made = clicks_at_once(ended.pk)
    assert len(made) > 1


def test_names_waiting_for_a_seat_are_not_part_of_the_booking_paid_for(flight, settings, monkeypatch):
    ended = holding(flight)
    services.cancel_order(order_id=ended.pk, actor="test")
    other, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=other.pk, labels=["1B"], actor="test")
    again = services.hold_again(order_id=ended.pk, actor="test", client=None)
    assert waiting_passengers(Order.objects.get(pk=again.order.pk), seats=["1A"]) == [NAMES[1]]
    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)
    services.submit_payment(order_id=again.order.pk, code="12345", actor="test")  # 1A is named: Pay is open
    assert Order.objects.get(pk=again.order.pk).passengers == [NAMES[0]]
