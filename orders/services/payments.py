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
from orders.gateway import ChargeResult, ChargeState, ChargeStatus
from orders.models import AttemptOutcome, AuditAction, Order, OrderState, PaymentAttempt, PaymentStatus
from orders.selectors import OrderStatus, passengers_of
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
        fares, held = fares_of(order.flight), held_seat_labels(order_id=order.pk)
        order.amount = fares.frozen_total(held, order.seat_prices or {})
        # The booking's passengers are those of its seats: names still waiting for a seat (one let go) go.
        order.passengers = passengers_of(order, seats=held)
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
                "passengers",
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
    """What a worker needs to make one attempt (or, with `reconcile`, to ask the gateway what became of an
    attempt whose answer was lost), handed out by start_payment_attempt."""

    order_id: str
    number: int
    code: str
    amount: Decimal  # what the gateway charges, in `currency`
    currency: str
    idempotency_key: str  # the attempt's, at the gateway (attempt_key)
    started_at: dt.datetime  # this run of the attempt: only its worker's answer is recorded
    reconcile: bool = False  # its answer was lost: ask the gateway's status before anything else


def attempt_key(order: Order, number: int) -> str:
    """The attempt's idempotency key at the gateway, derived (nothing is stored): the order and the
    attempt's number, so that an attempt made again (handed back, or never seen by the gateway) carries
    the same key and cannot be charged twice. The order's creation time is part of it so that an order id
    used again (an archived booking deleted, a client's own id in another database) never meets old keys."""
    created_us = (order.created_at - _EPOCH) // dt.timedelta(microseconds=1)
    return f"{order.pk}:{created_us}:{number}"


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _ticket(order: Order, attempt: PaymentAttempt, *, reconcile: bool = False) -> AttemptTicket:
    assert order.amount is not None  # fixed by submit_payment
    return AttemptTicket(
        order_id=order.pk,
        number=attempt.number,
        code=order.payment_code,
        amount=order.amount,
        currency=order.currency,
        idempotency_key=attempt_key(order, attempt.number),
        started_at=attempt.started_at,
        reconcile=reconcile,
    )


def start_payment_attempt(*, order_id: str, now: dt.datetime | None = None) -> AttemptTicket | None:
    """Open the next attempt if one is due; None if there is nothing to do (safe for redelivered tasks).

    A running attempt older than timeout + margin lost its answer (its worker died, or the database went
    away while it waited): its ticket comes back with `reconcile`, and nothing else happens to the order
    until reconcile_payment_attempt has recorded what the gateway says of it. A finished failed attempt
    is followed by the next only once its backoff has passed.
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
            return _ticket(order, last, reconcile=True)
        elif last is not None:
            assert last.finished_at is not None  # every attempt but a running one is finished
            due = last.finished_at + dt.timedelta(seconds=backoff_seconds(last.number))
            if due > now:
                order.payment_due_at = due
                order.save(update_fields=["payment_due_at", "updated_at"])
                return None
        number = order.payment_attempts_used + 1
        attempt = PaymentAttempt.objects.create(order=order, number=number, started_at=now)
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
        return _ticket(order, attempt)


def finish_payment_attempt(
    *,
    order_id: str,
    number: int,
    result: ChargeResult,
    started_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Order:
    """Record an attempt's answer: CONFIRMED on success, FAILED after the last failure, else retry later.

    `started_at`, the ticket's: an answer from a run of the attempt that has been replaced (its worker
    stalled past the lost margin, the gateway was asked, the attempt made again with the same key) is
    left to the new run, which gets the same answer from the gateway."""
    now = now or timezone.now()
    with transaction.atomic():
        order = lock_order(order_id)
        attempt = PaymentAttempt.objects.get(order=order, number=number)
        current = attempt.outcome == AttemptOutcome.RUNNING and started_at in (None, attempt.started_at)
        if order.state != OrderState.PROCESSING_PAYMENT or not current:
            pass  # already settled, or made again: the late answer changes nothing
        elif result.outcome == AttemptOutcome.INTERRUPTED:
            hand_back_attempt(order, attempt, now=now)
        else:
            settle_attempt(order, attempt, result, now=now)
    return order


def reconcile_payment_attempt(
    *, order_id: str, number: int, found: ChargeStatus, now: dt.datetime | None = None
) -> AttemptTicket | None:
    """Record what the gateway's status query says of an attempt whose answer was lost: a charge is the
    attempt's success (the order is CONFIRMED), a decline its decline; one the gateway never saw is made
    again at once under the same number and key, and uses no attempt. Returns the ticket to make it
    with; None if there is nothing to charge (settled here, or by another worker meanwhile)."""
    now = now or timezone.now()
    with transaction.atomic():
        order = lock_order(order_id)
        attempt = order.payment_attempts.filter(number=number).first()
        if (
            order.state != OrderState.PROCESSING_PAYMENT
            or attempt is None
            or attempt.outcome != AttemptOutcome.RUNNING
            or lost_after(attempt.started_at) > now  # made again by another worker meanwhile
        ):
            return None
        answer = found.result()
        if answer is not None:  # charged or declined: that is the attempt's outcome
            settle_attempt(order, attempt, answer, now=now, reconciled=True)
            return None
        started = attempt.started_at
        attempt.started_at = now
        attempt.save(update_fields=["started_at"])
        order.payment_due_at = lost_after(now)
        order.payment_status = PaymentStatus.TRYING
        order.save(update_fields=["payment_due_at", "payment_status", "updated_at"])
        record_change(
            order,
            action=AuditAction.PAYMENT_ATTEMPT,
            from_state=order.state,
            actor="system:payments",
            reason=f"attempt {number}: its answer was lost and the gateway never saw it; made again, no attempt used",
            details={"attempt": number, "reconciled": ChargeState.UNKNOWN, "started_at": started.isoformat()},
        )
        return _ticket(order, attempt)


def hand_back_attempt(order: Order, attempt: PaymentAttempt, *, now: dt.datetime) -> None:
    """An attempt cut short by a worker's stop is not the traveller's loss: it is undone and made again
    at once (the timer loop enqueues it), without waiting for the lost-attempt margin. Safe even if the
    gateway got the call: the attempt made again has the same number, hence the same idempotency key, and
    the gateway answers it with the first call's outcome instead of charging again."""
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


def settle_attempt(
    order: Order, attempt: PaymentAttempt, result: ChargeResult, *, now: dt.datetime, reconciled: bool = False
) -> None:
    """Record the attempt's outcome and what follows for the order. `reconciled`: the outcome was found by
    asking the gateway, the worker's answer having been lost (the audit entry says so)."""
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
    fields = ["state", "payment_status", "last_payment_error", "payment_code", "payment_due_at"]
    order.save(update_fields=[*fields, "confirmation_due_at", "updated_at"])
    details = {"attempt": attempt.number, "outcome": result.outcome, "error": result.error}
    if reconciled:  # the audit trail tells an answer found by asking the gateway from one received
        details["reconciled"] = True
    record_change(
        order,
        action=action,
        from_state=OrderState.PROCESSING_PAYMENT,
        actor="system:payments",
        reason=reason + (" (its answer was lost; the gateway's status query told it)" if reconciled else ""),
        details=details,
        seats=seat_changes.get("confirmed"),
    )
    publish_seat_changes(flight_code=order.flight.code, **seat_changes)
