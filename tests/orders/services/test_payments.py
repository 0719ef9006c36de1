"""Payment and expiry logic in-process: services, the task body and the timer tick, with time passed in."""

import datetime as dt
import time
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from inventory.models import HoldState, SeatHold
from orders import queue, services, tasks, timers
from orders.gateway import ChargeResult, ChargeState, ChargeStatus, SimulatedGateway
from orders.gateway_ledger_sql import Ledger
from orders.models import AttemptOutcome, AuditEntry, Order, OrderState, PaymentAttempt
from orders.selectors import order_status

pytestmark = pytest.mark.django_db

DECLINED = ChargeResult(False, AttemptOutcome.DECLINED, "the bank declined the payment (simulated failure)")
SUCCESS = ChargeResult(True, AttemptOutcome.SUCCESS)


@pytest.fixture(autouse=True)
def ledger(settings, tmp_path):
    """The simulated gateway's ledger, the test's own."""
    settings.PAYMENT_GATEWAY_LEDGER = str(tmp_path / "gateway-ledger.sqlite3")
    return Ledger(settings.PAYMENT_GATEWAY_LEDGER)


@pytest.fixture
def enqueued(monkeypatch):
    """Payments handed to the workers (the queue itself is exercised by the cluster tests)."""
    calls: list[str] = []
    monkeypatch.setattr(queue, "enqueue_payment", calls.append)
    return calls


@pytest.fixture
def paying(flight, enqueued, django_capture_on_commit_callbacks):
    """An order holding 1A and 1B whose payment was just submitted."""
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A", "1B"], actor="test")
    with django_capture_on_commit_callbacks(execute=True):
        services.submit_payment(order_id=order.pk, code="12345", actor="test")
    assert enqueued == [order.pk]
    return Order.objects.get(pk=order.pk)


def test_submitting_moves_to_processing_and_the_hold_can_no_longer_lapse(paying):
    assert paying.state == OrderState.PROCESSING_PAYMENT
    assert paying.payment_status == "trying"
    assert list(SeatHold.objects.filter(order_id=paying.pk).values_list("expires_at", flat=True)) == [None, None]
    much_later = timezone.now() + dt.timedelta(days=1)
    assert order_status(order=paying, now=much_later)["State"] == "PROCESSING_PAYMENT"
    assert services.expire_lapsed_holds(now=much_later) == []
    with pytest.raises(Conflict):  # and the seats stay taken
        other, _ = services.create_order(flight_code=paying.flight.code, actor="test")
        services.select_seats(order_id=other.pk, labels=["1A"], actor="test", now=much_later)


@pytest.mark.parametrize("code", ["1234", "123456", "abcde", "1234a", " 1234", "", "١٢٣٤٥"])
def test_a_code_that_is_not_exactly_five_digits_is_refused_without_using_an_attempt(flight, code):
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    with pytest.raises(InvalidInput):
        services.submit_payment(order_id=order.pk, code=code, actor="test")
    order.refresh_from_db()
    assert (order.state, order.payment_attempts_used) == (OrderState.SEATS_SELECTED, 0)


def test_paying_needs_seats_an_unexpired_hold_and_only_once(flight, paying):
    pending, _ = services.create_order(flight_code=flight.code, actor="test")
    with pytest.raises(Conflict, match="Select seats"):
        services.submit_payment(order_id=pending.pk, code="12345", actor="test")
    with pytest.raises(Conflict, match="already being processed"):
        services.submit_payment(order_id=paying.pk, code="12345", actor="test")
    lapsing, _ = services.create_order(flight_code=flight.code, actor="test")
    lapsing = services.select_seats(order_id=lapsing.pk, labels=["3A"], actor="test").order
    with pytest.raises(Conflict) as late:
        services.submit_payment(order_id=lapsing.pk, code="12345", actor="test", now=lapsing.hold_expires_at)
    assert late.value.code == "hold_expired"
    assert Order.objects.get(pk=lapsing.pk).state == OrderState.EXPIRED
    with pytest.raises(Conflict, match=r"cannot change seats|Cannot change seats"):
        services.select_seats(order_id=paying.pk, labels=["1A"], actor="test")


def test_a_successful_attempt_confirms_and_books_the_seats(paying, settings):
    settings.PAYMENT_FAILURE_RATE, settings.PAYMENT_LATENCY_SECONDS = 0, 0.01
    assert tasks.process_payment(paying.pk).startswith("attempt 1: success")
    order = Order.objects.get(pk=paying.pk)
    assert order.state == OrderState.CONFIRMED
    status = order_status(order=order)
    assert (status["Seats"], status["PaymentStatus"], status["AttemptsLeft"]) == (["1A", "1B"], "success", 2)
    assert set(SeatHold.objects.filter(order_id=order.pk).values_list("state", flat=True)) == {HoldState.CONFIRMED}
    assert order.payment_code == "" and order.payment_due_at is None
    # A redelivered task finds nothing to do: no second attempt, no second charge.
    assert tasks.process_payment(paying.pk) == "nothing due"
    assert PaymentAttempt.objects.filter(order=order).count() == 1


def test_a_successful_attempt_ends_the_holds_at_the_callers_time(paying):
    """As every other way a hold ends: the dashboard counts holds ended by their ended_at."""
    first = services.start_payment_attempt(order_id=paying.pk)
    assert first is not None
    answered_at = timezone.now() + dt.timedelta(seconds=7)
    services.finish_payment_attempt(order_id=paying.pk, number=first.number, result=SUCCESS, now=answered_at)
    ended = set(SeatHold.objects.filter(order_id=paying.pk).values_list("state", "ended_at"))
    assert ended == {(HoldState.CONFIRMED, answered_at)}


def test_three_failures_spaced_by_the_backoff_fail_the_order_and_release_the_seats(paying, settings):
    settings.PAYMENT_BACKOFF_INITIAL_SECONDS, settings.PAYMENT_BACKOFF_MULTIPLIER = 1, 2
    t = timezone.now()
    first = services.start_payment_attempt(order_id=paying.pk, now=t)
    assert first is not None
    services.finish_payment_attempt(order_id=paying.pk, number=first.number, result=DECLINED, now=t)
    status = order_status(order=Order.objects.get(pk=paying.pk))
    assert (status["PaymentStatus"], status["AttemptsLeft"]) == ("retrying", 2)
    assert "Attempt 1 of 3 failed" in status["LastPaymentErr"]
    assert Order.objects.get(pk=paying.pk).payment_due_at == t + dt.timedelta(seconds=1)

    assert services.start_payment_attempt(order_id=paying.pk, now=t + dt.timedelta(seconds=0.9)) is None
    second = services.start_payment_attempt(order_id=paying.pk, now=t + dt.timedelta(seconds=1))
    assert second is not None and second.number == 2
    status = order_status(order=Order.objects.get(pk=paying.pk))
    assert (status["PaymentStatus"], status["AttemptsLeft"]) == ("trying", 1)  # retrying only during the backoff
    t2 = t + dt.timedelta(seconds=1.5)
    services.finish_payment_attempt(order_id=paying.pk, number=2, result=DECLINED, now=t2)
    assert services.start_payment_attempt(order_id=paying.pk, now=t2 + dt.timedelta(seconds=1.9)) is None
    third = services.start_payment_attempt(order_id=paying.pk, now=t2 + dt.timedelta(seconds=2))
    assert third is not None and third.number == 3
    services.finish_payment_attempt(order_id=paying.pk, number=3, result=DECLINED, now=t2 + dt.timedelta(seconds=3))

    order = Order.objects.get(pk=paying.pk)
    status = order_status(order=order)
    assert (status["State"], status["AttemptsLeft"], status["PaymentStatus"]) == ("FAILED", 0, "failed")
    assert status["LastPaymentErr"].startswith("Payment failed after 3 attempts")
    assert status["LastPaymentErr"].count("declined") == 3
    assert status["Seats"] == []
    assert set(SeatHold.objects.filter(order_id=order.pk).values_list("state", flat=True)) == {HoldState.RELEASED}
    assert services.start_payment_attempt(order_id=paying.pk, now=t + dt.timedelta(hours=1)) is None
    assert PaymentAttempt.objects.filter(order=order).count() == 3


def test_an_attempt_is_left_to_its_worker_until_timeout_plus_margin_then_the_gateway_is_asked(paying, settings):
    settings.PAYMENT_TIMEOUT_SECONDS, settings.PAYMENT_LOST_MARGIN_SECONDS = 10, 2
    t = timezone.now()
    first = services.start_payment_attempt(order_id=paying.pk, now=t)
    assert first is not None and not first.reconcile
    # A redelivered task while the attempt may still answer: nothing.
    assert services.start_payment_attempt(order_id=paying.pk, now=t + dt.timedelta(seconds=11.9)) is None
    assert Order.objects.get(pk=paying.pk).payment_due_at == t + dt.timedelta(seconds=12)
    lost = services.start_payment_attempt(order_id=paying.pk, now=t + dt.timedelta(seconds=12))
    assert lost is not None and lost.reconcile
    assert (lost.number, lost.idempotency_key) == (1, first.idempotency_key)  # the same attempt, nothing new
    assert list(PaymentAttempt.objects.filter(order=paying).values_list("number", "outcome")) == [(1, "running")]
    assert Order.objects.get(pk=paying.pk).payment_attempts_used == 1


def lost_attempt(order: Order, *, charged: bool | None) -> services.AttemptTicket:
    """An attempt started long enough ago to count as lost; the gateway charged it (True), declined it
    (False) or never saw it (None): its worker died, or the database went away, before the answer was kept."""
    ticket = services.start_payment_attempt(order_id=order.pk, now=timezone.now() - dt.timedelta(seconds=60))
    assert ticket is not None
    if charged is not None:
        Ledger(settings.PAYMENT_GATEWAY_LEDGER).decide(
            idempotency_key=ticket.idempotency_key,
            order_id=order.pk,
            amount=ticket.amount,
            currency=ticket.currency,
            charged=charged,
            error="" if charged else "the bank declined the payment (simulated failure)",
        )
    return ticket


def test_a_lost_attempt_the_gateway_charged_confirms_the_order_without_charging_again(paying):
    lost_attempt(paying, charged=True)
    assert tasks.process_payment(paying.pk) == "attempt 1 reconciled with the gateway"
    order = Order.objects.get(pk=paying.pk)
    status = order_status(order=order)
    assert (status["State"], status["PaymentStatus"], status["AttemptsLeft"]) == ("CONFIRMED", "success", 2)
    assert order.reference  # the same way to CONFIRMED as a normal success: reference, seats booked, email
    assert set(SeatHold.objects.filter(order_id=order.pk).values_list("state", flat=True)) == {HoldState.CONFIRMED}
    assert Ledger(settings.PAYMENT_GATEWAY_LEDGER).charges(paying.pk) == 1
    assert list(PaymentAttempt.objects.filter(order=paying).values_list("number", "outcome")) == [(1, "success")]
    confirm = AuditEntry.objects.get(order=paying, action="confirm")
    assert confirm.details["reconciled"] is True and "status query" in confirm.reason
    assert tasks.process_payment(paying.pk) == "nothing due"


def test_a_lost_attempt_the_gateway_declined_counts_as_that_attempts_decline(paying, settings):
    settings.PAYMENT_BACKOFF_INITIAL_SECONDS = 1
    lost_attempt(paying, charged=False)
    tasks.process_payment(paying.pk)
    status = order_status(order=Order.objects.get(pk=paying.pk))
    assert (status["State"], status["PaymentStatus"], status["AttemptsLeft"]) == ("PROCESSING_PAYMENT", "retrying", 2)
    assert status["LastPaymentErr"].startswith("Attempt 1 of 3 failed: the bank declined")
    assert list(PaymentAttempt.objects.filter(order=paying).values_list("number", "outcome")) == [(1, "declined")]
    # The next attempt follows after the backoff, with a key of its own.
    assert tasks.process_payment(paying.pk) == "nothing due"
    time.sleep(1)
    settings.PAYMENT_FAILURE_RATE, settings.PAYMENT_LATENCY_SECONDS = 0, 0.01
    assert tasks.process_payment(paying.pk).startswith("attempt 2: success")
    assert [e.charged for e in Ledger(settings.PAYMENT_GATEWAY_LEDGER).entries(paying.pk)] == [False, True]


def test_a_declined_last_attempt_found_by_reconciliation_fails_the_order(paying, settings):
    t = timezone.now() - dt.timedelta(seconds=120)
    for number in (1, 2):
        services.start_payment_attempt(order_id=paying.pk, now=t)
        services.finish_payment_attempt(order_id=paying.pk, number=number, result=DECLINED, now=t)
        t += dt.timedelta(seconds=10)
    lost_attempt(paying, charged=False)
    tasks.process_payment(paying.pk)
    order = Order.objects.get(pk=paying.pk)
    assert (order.state, order.payment_attempts_used) == (OrderState.FAILED, 3)
    assert order.last_payment_error.startswith("Payment failed after 3 attempts")


def test_a_lost_attempt_the_gateway_never_saw_is_made_again_with_its_key_using_no_attempt(paying, settings):
    settings.PAYMENT_FAILURE_RATE, settings.PAYMENT_LATENCY_SECONDS = 0, 0.01
    lost = lost_attempt(paying, charged=None)
    assert tasks.process_payment(paying.pk) == "attempt 1: success; order CONFIRMED"
    status = order_status(order=Order.objects.get(pk=paying.pk))
    assert (status["State"], status["AttemptsLeft"]) == ("CONFIRMED", 2)
    assert [e.idempotency_key for e in Ledger(settings.PAYMENT_GATEWAY_LEDGER).entries(paying.pk)] == [
        lost.idempotency_key
    ]
    remade = AuditEntry.objects.filter(order=paying, details__reconciled="unknown").get()
    assert "made again, no attempt used" in remade.reason


def test_a_stalled_workers_late_answer_is_left_to_the_attempt_made_again(paying, settings):
    """The first run's worker was stalled, not dead: once the attempt is made again, its late answer (here
    its own timeout) is not recorded; the new run's is, and the gateway gives both runs the same outcome."""
    stalled = lost_attempt(paying, charged=None)
    remade = services.reconcile_payment_attempt(order_id=paying.pk, number=1, found=ChargeStatus(ChargeState.UNKNOWN))
    assert remade is not None and remade.idempotency_key == stalled.idempotency_key
    timeout = ChargeResult(False, AttemptOutcome.TIMEOUT, "the gateway did not answer within 10 s")
    services.finish_payment_attempt(order_id=paying.pk, number=1, result=timeout, started_at=stalled.started_at)
    assert PaymentAttempt.objects.get(order=paying, number=1).outcome == AttemptOutcome.RUNNING
    services.finish_payment_attempt(order_id=paying.pk, number=1, result=SUCCESS, started_at=remade.started_at)
    assert Order.objects.get(pk=paying.pk).state == OrderState.CONFIRMED
    # A second reconciliation of the same lost run (two workers asked at once) finds nothing to do.
    assert (
        services.reconcile_payment_attempt(order_id=paying.pk, number=1, found=ChargeStatus(ChargeState.UNKNOWN))
        is None
    )


def test_a_gateway_that_cannot_tell_leaves_the_lost_attempt_open(paying, settings):
    lost_attempt(paying, charged=True)
    settings.PAYMENT_GATEWAY = "tests.orders.services.test_payments.ExplodingGateway"
    assert tasks.process_payment(paying.pk) == "attempt 1 reconciled with the gateway"
    order = Order.objects.get(pk=paying.pk)
    assert (order.state, order.payment_attempts_used) == (OrderState.PROCESSING_PAYMENT, 1)
    assert PaymentAttempt.objects.get(order=paying).outcome == AttemptOutcome.RUNNING
    settings.PAYMENT_GATEWAY = "orders.gateway.SimulatedGateway"  # it answers again: the charge is found
    tasks.process_payment(paying.pk)
    assert Order.objects.get(pk=paying.pk).state == OrderState.CONFIRMED


def test_a_timeout_on_our_side_is_settled_by_the_gateways_status(paying, settings, monkeypatch):
    """The call timed out here, but the gateway charged: that is a success, not a failed attempt."""
    ticket = services.start_payment_attempt(order_id=paying.pk)
    assert ticket is not None
    monkeypatch.setattr(services, "start_payment_attempt", lambda **_: ticket)
    monkeypatch.setattr(SimulatedGateway, "charge", charged_then_timed_out)
    assert tasks.process_payment(paying.pk) == "attempt 1: success; order CONFIRMED"
    assert Ledger(settings.PAYMENT_GATEWAY_LEDGER).charges(paying.pk) == 1


def charged_then_timed_out(self, *, order_id, amount, currency, idempotency_key, **_):
    Ledger(settings.PAYMENT_GATEWAY_LEDGER).decide(
        idempotency_key=idempotency_key, order_id=order_id, amount=amount, currency=currency, charged=True, error=""
    )
    return ChargeResult(False, AttemptOutcome.TIMEOUT, "the gateway did not answer within 10 s")


def test_a_call_that_broke_after_the_gateway_charged_is_settled_by_its_status(paying, settings, monkeypatch):
    """The connection broke after the gateway had charged (a reset on the way back): the status query finds
    the charge, so the attempt is a success and no second attempt charges again."""

    def charged_then_broke(self, **kwargs):
        charged_then_timed_out(self, **kwargs)
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(SimulatedGateway, "charge", charged_then_broke)
    assert tasks.process_payment(paying.pk) == "attempt 1: success; order CONFIRMED"
    assert Ledger(settings.PAYMENT_GATEWAY_LEDGER).charges(paying.pk) == 1


def test_a_gateway_that_raises_is_a_failed_attempt(paying, settings):
    settings.PAYMENT_GATEWAY = "tests.orders.services.test_payments.ExplodingGateway"
    assert tasks.process_payment(paying.pk) == "attempt 1: error; order PROCESSING_PAYMENT"
    assert "gateway error: RuntimeError" in Order.objects.get(pk=paying.pk).last_payment_error


class ExplodingGateway:
    def charge(self, **kwargs):
        raise RuntimeError("boom")

    def status(self, **kwargs):
        raise RuntimeError("boom")


def test_the_timer_tick_expires_lapsed_holds_in_batches(flight, settings, monkeypatch):
    settings.SEAT_HOLD_SECONDS = 0.001
    ids = []
    for label in ["1A", "1B", "1C"]:
        order, _ = services.create_order(flight_code=flight.code, actor="test")
        services.select_seats(order_id=order.pk, labels=[label], actor="test")
        ids.append(order.pk)
    time.sleep(0.01)
    monkeypatch.setattr(services, "expire_lapsed_holds", lambda real=services.expire_lapsed_holds: real(limit=2))
    result = timers.tick()
    assert sorted(result.expired) == sorted(ids)
    assert set(Order.objects.values_list("state", flat=True)) == {OrderState.EXPIRED}
    assert set(SeatHold.objects.values_list("state", flat=True)) == {HoldState.EXPIRED}
    assert timers.tick().expired == []


def test_the_timer_tick_enqueues_due_payments_once_per_lease(
    paying, enqueued, settings, django_capture_on_commit_callbacks
):
    enqueued.clear()
    t = paying.payment_due_at
    with django_capture_on_commit_callbacks(execute=True):
        assert services.enqueue_due_payments(now=t - dt.timedelta(seconds=1)) == []
        assert services.enqueue_due_payments(now=t) == [paying.pk]
        assert services.enqueue_due_payments(now=t + dt.timedelta(seconds=1)) == []
    assert enqueued == [paying.pk]


def test_old_live_events_are_trimmed_but_not_the_counters(flight):
    from django_eventstream.models import Event, EventCounter

    from core.events.storage import trim_events

    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    assert Event.objects.filter(channel=f"order-{order.pk}", eid__gt=0).count() == 2
    Event.objects.update(created=timezone.now() - dt.timedelta(hours=25))
    assert trim_events(older_than=dt.timedelta(hours=24)) == 3  # two order events, one flight event
    assert EventCounter.objects.get(name=f"order-{order.pk}").value == 2


def test_a_payment_is_refused_when_another_order_took_over_one_of_its_lapsed_seats(flight):
    """The payer's clock was read before it waited for its order's lock, so its hold looks alive; but
    another order, with a later clock, has already taken one of its seats. Paying must not go on with
    fewer seats than were held."""
    now = timezone.now()
    payer, _ = services.create_order(flight_code=flight.code, actor="test")
    held_at = now - dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS + 5)
    services.select_seats(order_id=payer.pk, labels=["1A", "1B"], actor="test", now=held_at)
    taker, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=taker.pk, labels=["1A"], actor="test", now=now)  # takes over the lapsed 1A
    stale = held_at + dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS - 1)  # before the payer's deadline
    with pytest.raises(services.HoldExpired):
        services.submit_payment(order_id=payer.pk, code="12345", actor="test", now=stale)
    payer.refresh_from_db()
    assert payer.state == "SEATS_SELECTED"  # untouched: the timer loop expires it
    assert SeatHold.objects.get(seat__label="1B").expires_at is not None  # still lapses


def test_each_attempt_has_a_key_of_its_own_and_an_order_id_used_again_never_meets_old_keys(paying, flight):
    t = timezone.now()
    first = services.start_payment_attempt(order_id=paying.pk, now=t)
    services.finish_payment_attempt(order_id=paying.pk, number=1, result=DECLINED, now=t)
    second = services.start_payment_attempt(order_id=paying.pk, now=t + dt.timedelta(seconds=5))
    assert first is not None and second is not None
    assert first.idempotency_key != second.idempotency_key
    assert first.idempotency_key.startswith(paying.pk)
    Order.objects.filter(pk=paying.pk).delete()  # archived, say; then a client chooses the same id
    again, _ = services.create_order(flight_code=flight.code, order_id=paying.pk, actor="test")
    assert services.attempt_key(again, 1) != first.idempotency_key


def test_an_answer_that_meets_a_database_blip_is_recorded_on_a_fresh_connection(paying, settings, monkeypatch):
    """The restart closed the worker's connection while the gateway answered: the answer is recorded once
    the database is back, within the lost margin, instead of waiting for reconciliation."""
    settings.PAYMENT_FAILURE_RATE, settings.PAYMENT_LATENCY_SECONDS = 0, 0.01
    record, calls, closed = services.finish_payment_attempt, [], []

    def after_a_blip(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        return record(**kwargs)

    monkeypatch.setattr(services, "finish_payment_attempt", after_a_blip)
    monkeypatch.setattr(tasks, "connection", SimpleNamespace(close=lambda: closed.append(True)))
    assert tasks.process_payment(paying.pk) == "attempt 1: success; order CONFIRMED"
    assert (len(calls), closed) == (2, [True])
    assert Ledger(settings.PAYMENT_GATEWAY_LEDGER).charges(paying.pk) == 1
