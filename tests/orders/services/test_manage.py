"""A paid booking's seat change and cancellation, in-process: the services, the worker's task body and the
simulated gateway's ledger (what the "bank" did), with the gateway's outcomes chosen by the test."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from inventory.models import HoldState, SeatHold
from orders import queue, services, tasks
from orders.gateway import SimulatedGateway
from orders.gateway_ledger_sql import Ledger
from orders.models import AuditEntry, BookingChange, ChangeState, Order, OrderState, Refund, RefundState
from orders.selectors import order_status
from tests.paid_bookings import money_until_settled, two_zone_flight

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def gateway(settings, tmp_path):
    """The simulated gateway, quick and agreeable unless a test says otherwise; its own ledger."""
    settings.PAYMENT_GATEWAY_LEDGER = str(tmp_path / "gateway-ledger.sqlite3")
    settings.PAYMENT_LATENCY_SECONDS = 0.002
    settings.PAYMENT_FAILURE_RATE = 0.0
    settings.REFUND_FAILURE_RATE = 0.0
    settings.PAYMENT_BACKOFF_INITIAL_SECONDS = 0
    settings.PAYMENT_BACKOFF_MAX_SECONDS = 0
    return Ledger(settings.PAYMENT_GATEWAY_LEDGER)


@pytest.fixture
def work(monkeypatch):
    """What the services hand to the workers, run at once (the cluster tests run a real queue)."""
    monkeypatch.setattr(queue, "enqueue_payment", tasks.process_payment)
    monkeypatch.setattr(queue, "enqueue_money", lambda kind, pk: money_until_settled(kind, pk))
    monkeypatch.setattr(queue, "enqueue_confirmation", lambda order_id: None)
    monkeypatch.setattr(queue, "enqueue_notice", lambda notice_id: None)


@pytest.fixture
def zoned_flight(db):
    """Rows 1-2 cost 150.00 (Front), the rest 100.00; departs in two days."""
    return two_zone_flight(code="FL-201")


@pytest.fixture
def booked(zoned_flight, work, django_capture_on_commit_callbacks):
    """A CONFIRMED booking of 4A and 4B (200.00), paid."""

    def book(labels=("4A", "4B")) -> Order:
        order, _ = services.create_order(flight_code=zoned_flight.code, actor="test")
        services.select_seats(order_id=order.pk, labels=list(labels), actor="test")
        with django_capture_on_commit_callbacks(execute=True):
            services.submit_payment(order_id=order.pk, code="12345", actor="test")
        order.refresh_from_db()
        assert order.state == OrderState.CONFIRMED
        return order

    return book


def _labels(order: Order, state: str) -> list[str]:
    return sorted(SeatHold.objects.filter(order_id=order.pk, state=state).values_list("seat__label", flat=True))


def test_a_change_to_dearer_seats_is_charged_once_then_booked(booked, gateway, django_capture_on_commit_callbacks):
    order = booked()
    with django_capture_on_commit_callbacks(execute=True):
        change = services.change_booking_seats(order_id=order.pk, labels=["1A", "1B"], code="54321", actor="test")
    asked: Any = change.status["Change"]
    assert asked["State"] == "CHARGING" and asked["Difference"] == "100.00"
    order.refresh_from_db()
    status: Any = order_status(order=order)
    assert status["State"] == "CONFIRMED" and status["Seats"] == ["1A", "1B"]
    assert status["Change"]["State"] == "DONE" and status["Total"] == "300.00"
    assert _labels(order, HoldState.CONFIRMED) == ["1A", "1B"]
    assert gateway.charges(order.pk) == 2  # the booking, then the change's difference
    assert [e.amount for e in gateway.entries(order.pk)] == [Decimal("200.00"), Decimal("100.00")]


def test_a_dearer_change_without_a_code_is_refused_naming_the_difference(booked):
    order = booked()
    with pytest.raises(Conflict) as refused:
        services.change_booking_seats(order_id=order.pk, labels=["1A", "4B"], code=None, actor="test")
    assert refused.value.code == "payment_code_required" and "50.00" in refused.value.message
    assert not BookingChange.objects.exists() and _labels(order, HoldState.HELD) == []


def test_a_change_to_cheaper_seats_settles_at_once_and_refunds_the_difference_once(
    booked, gateway, django_capture_on_commit_callbacks
):
    order = booked(["1A", "1B"])
    with django_capture_on_commit_callbacks(execute=True):
        services.change_booking_seats(order_id=order.pk, labels=["5C", "5D"], code=None, actor="test")
    order.refresh_from_db()
    status: Any = order_status(order=order)
    assert status["Seats"] == ["5C", "5D"] and status["Total"] == "200.00"
    assert status["Refund"]["State"] == "PAID" and status["Refund"]["Amount"] == "100.00"
    assert gateway.refunds(order.pk) == [Decimal("100.00")]
    assert _labels(order, HoldState.RELEASED) == ["1A", "1B"]


def test_a_change_declined_three_times_leaves_the_booking_as_it_was(
    booked, gateway, settings, django_capture_on_commit_callbacks
):
    order = booked()
    settings.PAYMENT_FAILURE_RATE = 1.0
    with django_capture_on_commit_callbacks(execute=True):
        services.change_booking_seats(order_id=order.pk, labels=["1A", "4B"], code="54321", actor="test")
    order.refresh_from_db()
    status: Any = order_status(order=order)
    assert status["State"] == "CONFIRMED" and status["Seats"] == ["4A", "4B"] and status["Total"] == "200.00"
    assert status["Change"]["State"] == "UNDONE" and status["Change"]["AttemptsLeft"] == 0
    assert _labels(order, HoldState.CONFIRMED) == ["4A", "4B"] and _labels(order, HoldState.HELD) == []
    assert gateway.charges(order.pk) == 1
    # 1A is on sale again at once
    other, _ = services.create_order(flight_code=order.flight.code, actor="test")
    services.select_seats(order_id=other.pk, labels=["1A"], actor="test")


def test_passengers_move_with_their_seats(booked, django_capture_on_commit_callbacks):
    order = booked()
    Order.objects.filter(pk=order.pk).update(
        passengers=[
            {"seat": "4A", "firstName": "Ada", "lastName": "Lovelace"},
            {"seat": "4B", "firstName": "Alan", "lastName": "Turing"},
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        change = services.change_booking_seats(order_id=order.pk, labels=["4A", "5D"], code=None, actor="test")
    assert [(p["seat"], p["lastName"]) for p in change.status["Passengers"]] == [("4A", "Lovelace"), ("5D", "Turing")]


def test_a_change_keeps_the_number_of_seats_and_closes_before_departure(booked, settings):
    order = booked()
    with pytest.raises(InvalidInput) as refused:
        services.change_booking_seats(order_id=order.pk, labels=["5A"], code=None, actor="test")
    assert refused.value.code == "seat_count_differs"
    settings.BOOKING_CHANGES_CLOSE_SECONDS = 3 * 86400
    with pytest.raises(Conflict) as closed:
        services.change_booking_seats(order_id=order.pk, labels=["5A", "5B"], code=None, actor="test")
    assert closed.value.code == "changes_closed"
    services.change_booking_seats(order_id=order.pk, labels=["5A", "5B"], code=None, actor="staff:x", staff=True)


def test_cancel_within_the_window_refunds_in_full_and_frees_the_seats(
    booked, gateway, django_capture_on_commit_callbacks
):
    order = booked()
    with django_capture_on_commit_callbacks(execute=True):
        change = services.cancel_booking(order_id=order.pk, actor="test")
    assert change.status["State"] == "CANCELLED" and change.status["Seats"] == []
    refund = Refund.objects.get(order=order)
    assert (refund.state, refund.amount, refund.fee) == (RefundState.PAID, Decimal("200.00"), Decimal("0.00"))
    assert refund.credit_note == f"CN-{order.reference}-1"
    assert gateway.refunds(order.pk) == [Decimal("200.00")]
    assert SeatHold.objects.live(at=timezone.now()).filter(order_id=order.pk).count() == 0


def test_cancel_after_the_window_keeps_the_fee(booked, gateway, settings, django_capture_on_commit_callbacks):
    order = booked()
    settings.REFUND_FULL_WINDOW_SECONDS = 0
    settings.CANCELLATION_FEE_PERCENT = 20
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_booking(order_id=order.pk, actor="test", now=timezone.now() + dt.timedelta(seconds=1))
    refund = Refund.objects.get(order=order)
    assert (refund.amount, refund.fee) == (Decimal("160.00"), Decimal("40.00"))
    assert gateway.refunds(order.pk) == [Decimal("160.00")]


def test_a_partial_cancellation_keeps_the_rest(booked, gateway, django_capture_on_commit_callbacks):
    order = booked()
    with django_capture_on_commit_callbacks(execute=True):
        change = services.cancel_booking(order_id=order.pk, seats=["4B"], actor="test")
    assert change.status["State"] == "CONFIRMED" and change.status["Seats"] == ["4A"]
    assert change.status["Total"] == "100.00"
    assert gateway.refunds(order.pk) == [Decimal("100.00")]


def test_a_refund_that_fails_is_tried_again_and_paid_once(
    booked, gateway, settings, django_capture_on_commit_callbacks
):
    order = booked()
    settings.REFUND_FAILURE_RATE = 1.0
    settings.REFUND_MAX_ATTEMPTS = 2
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_booking(order_id=order.pk, actor="test")
    refund = Refund.objects.get(order=order)
    assert refund.state == RefundState.FAILED and len(refund.attempts) == 2
    assert gateway.refunds(order.pk) == []
    settings.REFUND_FAILURE_RATE = 0.0
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_refund(refund_id=refund.pk, actor="staff:x", reason="the bank is back")
    refund.refresh_from_db()
    assert refund.state == RefundState.PAID and len(refund.attempts) == 3
    assert gateway.refunds(order.pk) == [Decimal("200.00")]
    # a task delivered again pays nothing more
    tasks.process_money("refund", refund.pk)
    assert gateway.refunds(order.pk) == [Decimal("200.00")]


def _failed_with_a_late_charge(zoned_flight, gateway, settings, django_capture_on_commit_callbacks) -> Order:
    """An order whose three attempts failed, the last by a timeout the gateway charged after all."""
    settings.PAYMENT_FAILURE_RATE = 1.0
    order, _ = services.create_order(flight_code=zoned_flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["3A", "3B"], actor="test")
    with django_capture_on_commit_callbacks(execute=True):
        services.submit_payment(order_id=order.pk, code="12345", actor="test")
    for _ in range(3):
        tasks.process_payment(order.pk)
    order.refresh_from_db()
    assert order.state == OrderState.FAILED
    last = order.payment_attempts.order_by("number").last()
    assert last is not None
    last.outcome, last.error = "timeout", "the gateway did not answer within 10 s"
    last.save()
    key = services.attempt_key(order, last.number)
    with gateway._connection() as conn:  # the bank's late charge replaces what the test's decline wrote
        conn.execute("DELETE FROM charges WHERE idempotency_key = ?", (key,))
    gateway.decide(
        idempotency_key=key,
        order_id=order.pk,
        amount=order.amount,
        currency=order.currency,
        charged=True,
        error="",
    )
    return order


def test_a_late_payment_rebooks_the_seats_if_they_are_free(
    zoned_flight, gateway, settings, work, django_capture_on_commit_callbacks
):
    order = _failed_with_a_late_charge(zoned_flight, gateway, settings, django_capture_on_commit_callbacks)
    assert tasks.check_late_payments() == {order.pk: "confirmed"}
    order.refresh_from_db()
    assert order.state == OrderState.CONFIRMED and order.reference
    assert _labels(order, HoldState.CONFIRMED) == ["3A", "3B"]
    assert tasks.check_late_payments() == {}  # settled once
    assert AuditEntry.objects.filter(order=order, action="late_payment").count() == 1


def test_a_late_payment_is_refunded_if_a_seat_was_taken(
    zoned_flight, gateway, settings, work, django_capture_on_commit_callbacks
):
    order = _failed_with_a_late_charge(zoned_flight, gateway, settings, django_capture_on_commit_callbacks)
    settings.PAYMENT_FAILURE_RATE = 0.0
    other, _ = services.create_order(flight_code=zoned_flight.code, actor="test")
    services.select_seats(order_id=other.pk, labels=["3B"], actor="test")
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.check_late_payments() == {order.pk: "refunded"}
    order.refresh_from_db()
    assert order.state == OrderState.FAILED
    refund = Refund.objects.get(order=order)
    assert refund.reason == "late_payment" and refund.state == RefundState.PAID
    refunded: Any = order_status(order=order)["Refund"]
    assert refunded["Amount"] == "200.00"
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.check_late_payments() == {}  # settled: not asked about again
    assert Refund.objects.filter(order=order).count() == 1


def test_a_second_late_charge_on_a_booking_kept_late_is_refunded(
    zoned_flight, gateway, settings, work, django_capture_on_commit_callbacks
):
    order = _failed_with_a_late_charge(zoned_flight, gateway, settings, django_capture_on_commit_callbacks)
    first = order.payment_attempts.get(number=1)
    first.outcome = "timeout"
    first.save()
    with gateway._connection() as conn:  # the bank took attempt 1 late too
        conn.execute("UPDATE charges SET charged = 1 WHERE idempotency_key = ?", (services.attempt_key(order, 1),))
    settings.PAYMENT_FAILURE_RATE = 0.0
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = [services.keep_late_payment(order_id=order.pk, number=n, actor="test") for n in (3, 1, 3, 1)]
    assert outcomes == ["confirmed", "refunded", "known", "known"]
    order.refresh_from_db()
    assert order.state == OrderState.CONFIRMED
    assert gateway.refunds(order.pk) == [Decimal("200.00")]


def test_only_one_change_at_a_time(booked, settings, monkeypatch):
    order = booked()
    monkeypatch.setattr(queue, "enqueue_money", lambda kind, pk: None)  # the charge stays in progress
    services.change_booking_seats(order_id=order.pk, labels=["1A", "4B"], code="54321", actor="test")
    with pytest.raises(Conflict) as refused:
        services.change_booking_seats(order_id=order.pk, labels=["2A", "4B"], code="54321", actor="test")
    assert refused.value.code == "change_in_progress"
    assert BookingChange.objects.get(order=order).state == ChangeState.CHARGING


class UnreachableGateway(SimulatedGateway):
    """The simulated bank, behind a link that breaks: while `broken`, a call reaches the bank (it decides and
    records it) but its answer is lost, and status queries fail."""

    broken = False

    def charge(self, **kwargs):
        answer = super().charge(**kwargs)
        if UnreachableGateway.broken:
            raise ConnectionResetError("the link to the gateway broke")
        return answer

    def refund(self, **kwargs):
        answer = super().refund(**kwargs)
        if UnreachableGateway.broken:
            raise ConnectionResetError("the link to the gateway broke")
        return answer

    def status(self, **kwargs):
        if UnreachableGateway.broken:
            raise ConnectionResetError("the link to the gateway broke")
        return super().status(**kwargs)


@pytest.fixture
def unreachable(settings, monkeypatch):
    """The link breaks once the test says so (`monkeypatch.setattr(UnreachableGateway, "broken", True)`)."""
    settings.PAYMENT_GATEWAY = f"{__name__}.UnreachableGateway"
    monkeypatch.setattr(UnreachableGateway, "broken", False)
    return UnreachableGateway


def test_a_refund_whose_answer_and_status_were_lost_is_not_paid_again(
    booked, gateway, unreachable, monkeypatch, django_capture_on_commit_callbacks
):
    order = booked()
    monkeypatch.setattr(UnreachableGateway, "broken", True)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_booking(order_id=order.pk, actor="test")
    refund = Refund.objects.get(order=order)
    assert gateway.refunds(order.pk) == [Decimal("200.00")]  # the bank paid it; nobody here knows
    assert refund.state == RefundState.PENDING and refund.attempts[0]["unverified"]
    assert tasks.process_money("refund", refund.pk) == "status unknown"  # asked again: still no answer
    assert len(Refund.objects.get(pk=refund.pk).attempts) == 1  # and no new key tried meanwhile
    monkeypatch.setattr(UnreachableGateway, "broken", False)
    money_until_settled("refund", refund.pk)
    refund.refresh_from_db()
    assert refund.state == RefundState.PAID and len(refund.attempts) == 1
    assert gateway.refunds(order.pk) == [Decimal("200.00")]


def test_an_unverified_try_the_gateway_never_saw_is_followed_by_a_new_key(
    booked, gateway, unreachable, settings, monkeypatch, django_capture_on_commit_callbacks
):
    order = booked()
    monkeypatch.setattr(UnreachableGateway, "broken", True)
    settings.REFUND_FAILURE_RATE = 1.0  # the bank refuses the first try (and records the refusal)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_booking(order_id=order.pk, actor="test")
    refund = Refund.objects.get(order=order)
    monkeypatch.setattr(UnreachableGateway, "broken", False)
    settings.REFUND_FAILURE_RATE = 0.0
    money_until_settled("refund", refund.pk)
    refund.refresh_from_db()
    assert refund.state == RefundState.PAID and len(refund.attempts) == 2
    assert refund.attempts[0]["checked"] == "declined"
    assert gateway.refunds(order.pk) == [Decimal("200.00")]


def test_a_change_whose_last_try_is_unverified_is_not_undone_until_the_gateway_tells(
    booked, gateway, unreachable, settings, monkeypatch
):
    order = booked()
    monkeypatch.setattr(UnreachableGateway, "broken", True)
    settings.PAYMENT_MAX_ATTEMPTS = 1
    monkeypatch.setattr(queue, "enqueue_money", lambda kind, pk: None)
    change = services.change_booking_seats(order_id=order.pk, labels=["1A", "1B"], code="54321", actor="test")
    change_id = order.changes.get().pk
    tasks.process_money("change", change_id)  # the bank charged; the answer and the status query were lost
    assert order.changes.get().state == ChangeState.CHARGING  # not undone: money may have moved
    monkeypatch.setattr(UnreachableGateway, "broken", False)
    tasks.process_money("change", change_id)
    assert order.changes.get().state == ChangeState.DONE
    assert gateway.charges(order.pk) == 2 and change.status["Change"] is not None
