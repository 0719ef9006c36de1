"""Paying: submit the code, then each attempt a worker makes, its answer, and the retry policy."""

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import InvalidInput
from flights.fares import fares_of
from inventory import services as inventory
from inventory.events import publish_seat_changes
from inventory.selectors import held_seat_labels
from orders.gateway import ChargeResult
from orders.models import AttemptOutcome, AuditAction, Order, OrderState, PaymentAttempt, PaymentStatus
from orders.selectors import OrderStatus
from orders.services.common import (
    OrderChange,
    WrongState,
    change_unless_lapsed,
    enqueue_payment_on_commit,
    hold_expired_error,
    lock_order,
    lost_after,
    record_change,
    transition,
)
from orders.services.confirmation import send_confirmation_on_commit
from orders.services.reference import give_reference

# A payment code: exactly 5 ASCII digits. The one definition: the input contract checks it at every door
# (orders/inputs.py), the schema states it, and submit_payment refuses anything else before an attempt.
PAYMENT_CODE_PATTERN = r"^[0-9]{5}$"
PAYMENT_CODE_MESSAGE = "The payment code is exactly 5 digits, like 12345. No attempt was used."
_PAYMENT_CODE_RE = re.compile(PAYMENT_CODE_PATTERN)


def check_payment_code(code: object) -> str:
    if not isinstance(code, str) or not _PAYMENT_CODE_RE.fullmatch(code):
        raise InvalidInput(PAYMENT_CODE_MESSAGE, code="invalid_payment_code")
    return code


def submit_payment(*, order_id: str, code: str, actor: str, now: dt.datetime | None = None) -> OrderChange:
    """Start paying for the selected seats: SEATS_SELECTED -> PROCESSING_PAYMENT; a worker makes the attempts.

    From here the hold cannot lapse: the payment's outcome decides.
    """
    check_payment_code(code)
    now = now or timezone.now()

    def begin(order: Order) -> OrderStatus:
        if order.state == OrderState.PENDING:
            raise WrongState("Select seats before paying: the order holds none.", state=order.state)
        if order.state == OrderState.PROCESSING_PAYMENT:
            raise WrongState(
                "A payment for this order is already being processed. "
                f"Follow GET /orders/{order.pk}/status for its outcome.",
                state=order.state,
            )
        transition(order, order.begin_payment, verb="pay")
        if not inventory.keep_until_paid(holder=order.pk):
            raise hold_expired_error(order)  # the timer loop expires the order; nothing is charged
        # The amount is the sum of the prices frozen when each seat was held (the prices the traveller saw,
        # orders/services/seats.py): a fare changed since, or during the payment, does not change it.
        fares = fares_of(order.flight)
        order.amount = fares.frozen_total(held_seat_labels(order_id=order.pk), order.seat_prices or {})
        order.currency = order.currency or fares.currency
        order.payment_code = code
        order.payment_status = PaymentStatus.TRYING
        order.last_payment_error = ""
        # If the enqueue below is lost (a crash right after commit), the timer loop enqueues it then.
        order.payment_due_at = lost_after(now)
        order.save(
            update_fields=[
                "state",
                "amount",
                "currency",
                "payment_code",
                "payment_status",
                "last_payment_error",
                "payment_due_at",
                "updated_at",
            ]
        )
        status = record_change(
            order,
            action=AuditAction.SUBMIT_PAYMENT,
            from_state=OrderState.SEATS_SELECTED,
            actor=actor,
            reason="payment submitted",
        )
        enqueue_payment_on_commit(order.pk)
        return status

    return change_unless_lapsed(order_id, now=now, actor=actor, change=begin)


@dataclass(frozen=True)
class AttemptTicket:
    """What a worker needs to make one attempt, handed out by start_payment_attempt."""

    order_id: str
    number: int
    code: str
    amount: Decimal  # what the gateway charges, in `currency`
    currency: str


def start_payment_attempt(*, order_id: str, now: dt.datetime | None = None) -> AttemptTicket | None:
    """Open the next attempt if one is due; None if there is nothing to do (safe for redelivered tasks).

    A running attempt older than timeout + margin lost its worker: it is settled as a failed attempt
    first. A finished failed attempt is followed by the next only once its backoff has passed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        order = lock_order(order_id)
        if order.state != OrderState.PROCESSING_PAYMENT:
            return None
        last = order.payment_attempts.order_by("-number").first()
        if last is not None and last.outcome == AttemptOutcome.RUNNING:
            if lost_after(last.started_at) > now:
                return None  # its worker still has time to answer
            settle_attempt(
                order,
                last,
                ChargeResult(False, AttemptOutcome.LOST, "no answer from the payment worker in time (worker lost)"),
                now=now,
            )
            if order.state != OrderState.PROCESSING_PAYMENT:
                return None
        elif last is not None:
            assert last.finished_at is not None  # every attempt but a running one is finished
            due = last.finished_at + dt.timedelta(seconds=backoff_seconds(last.number))
            if due > now:
                order.payment_due_at = due
                order.save(update_fields=["payment_due_at", "updated_at"])
                return None
        number = order.payment_attempts_used + 1
        PaymentAttempt.objects.create(order=order, number=number, started_at=now)
        order.payment_attempts_used = number
        order.payment_due_at = lost_after(now)
        order.payment_status = PaymentStatus.TRYING  # "retrying" lasts only while the backoff runs
        order.save(update_fields=["payment_attempts_used", "payment_due_at", "payment_status", "updated_at"])
        record_change(
            order,
            action=AuditAction.PAYMENT_ATTEMPT,
            from_state=order.state,
            actor="system:payments",
            reason=f"attempt {number} of {settings.PAYMENT_MAX_ATTEMPTS} started",
            details={"attempt": number},
        )
        assert order.amount is not None  # fixed by submit_payment
        return AttemptTicket(
            order_id=order.pk, number=number, code=order.payment_code, amount=order.amount, currency=order.currency
        )


def finish_payment_attempt(
    *, order_id: str, number: int, result: ChargeResult, now: dt.datetime | None = None
) -> Order:
    """Record an attempt's answer: CONFIRMED on success, FAILED after the last failure, else retry later."""
    now = now or timezone.now()
    with transaction.atomic():
        order = lock_order(order_id)
        attempt = PaymentAttempt.objects.get(order=order, number=number)
        if order.state != OrderState.PROCESSING_PAYMENT or attempt.outcome != AttemptOutcome.RUNNING:
            pass
        elif result.outcome == AttemptOutcome.INTERRUPTED:
            hand_back_attempt(order, attempt, now=now)
        else:
            settle_attempt(order, attempt, result, now=now)
        # else it was already settled (counted lost while its worker was stalled): the late answer changes
        # nothing, and the gateway's idempotency key keeps a late success from charging twice.
    return order


def hand_back_attempt(order: Order, attempt: PaymentAttempt, *, now: dt.datetime) -> None:
    """An attempt cut short by a worker's stop is not the traveller's loss: it is undone and made again
    at once (the timer loop enqueues it), without waiting for the lost-attempt margin. Safe even if the
    gateway got the call: the next attempt has the same idempotency key (the order), so no double charge."""
    started = attempt.started_at
    attempt.delete()
    order.payment_attempts_used = attempt.number - 1
    order.payment_due_at = now
    order.save(update_fields=["payment_attempts_used", "payment_due_at", "updated_at"])
    record_change(
        order,
        action=AuditAction.PAYMENT_ATTEMPT,
        from_state=order.state,
        actor="system:payments",
        reason=f"attempt {attempt.number} interrupted: its worker was stopping; it runs again now and uses no attempt",
        details={"attempt": attempt.number, "outcome": AttemptOutcome.INTERRUPTED, "started_at": started.isoformat()},
    )


def backoff_seconds(failed_attempt_number: int) -> float:
    """Wait after the n-th failed attempt: initial x multiplier^(n-1), at most the maximum (1 s, 2 s, ...)."""
    wait = settings.PAYMENT_BACKOFF_INITIAL_SECONDS * settings.PAYMENT_BACKOFF_MULTIPLIER ** (failed_attempt_number - 1)
    return min(wait, settings.PAYMENT_BACKOFF_MAX_SECONDS)


def settle_attempt(order: Order, attempt: PaymentAttempt, result: ChargeResult, *, now: dt.datetime) -> None:
    attempt.outcome = result.outcome
    attempt.error = result.error[:300]
    attempt.finished_at = now
    attempt.save(update_fields=["outcome", "error", "finished_at"])
    limit = settings.PAYMENT_MAX_ATTEMPTS
    seat_changes = {}
    if result.ok:
        order.confirm()
        seat_changes["confirmed"] = inventory.confirm_holds(holder=order.pk, now=now)
        give_reference(order)
        send_confirmation_on_commit(order, now=now)
        order.payment_status, order.last_payment_error = PaymentStatus.SUCCESS, ""
        action, reason = AuditAction.CONFIRM, f"attempt {attempt.number} succeeded"
    elif attempt.number >= limit:
        order.fail()
        seat_changes["available"] = inventory.release_holds(holder=order.pk, now=now)
        failures = "; ".join(
            f"attempt {a.number}: {a.error or a.outcome}" for a in order.payment_attempts.order_by("number")
        )
        order.payment_status = PaymentStatus.FAILED
        order.last_payment_error = f"Payment failed after {attempt.number} attempts ({failures}). Seats released."
        action, reason = AuditAction.FAIL, f"attempt {attempt.number} of {limit} failed: {result.outcome}"
    else:
        wait = backoff_seconds(attempt.number)
        order.payment_status = PaymentStatus.RETRYING
        order.last_payment_error = (
            f"Attempt {attempt.number} of {limit} failed: {result.error or result.outcome}. Retrying in {wait:g} s."
        )
        order.payment_due_at = now + dt.timedelta(seconds=wait)
        action, reason = AuditAction.PAYMENT_ATTEMPT, f"attempt {attempt.number} of {limit} failed: {result.outcome}"
    if order.state != OrderState.PROCESSING_PAYMENT:
        order.payment_code, order.payment_due_at = "", None
    order.save(
        update_fields=[
            "state",
            "payment_status",
            "last_payment_error",
            "payment_code",
            "payment_due_at",
            "confirmation_due_at",
            "updated_at",
        ]
    )
    record_change(
        order,
        action=action,
        from_state=OrderState.PROCESSING_PAYMENT,
        actor="system:payments",
        reason=reason,
        details={"attempt": attempt.number, "outcome": result.outcome, "error": result.error},
        seats=seat_changes.get("confirmed"),
    )
    publish_seat_changes(flight_code=order.flight.code, **seat_changes)
