"""Money moved after booking, by a worker: a seat change's price difference charged (a BookingChange in
CHARGING), a refund paid back (a Refund PENDING). Each follows the first payment's rules (payments.py):
an attempt is recorded before the gateway is called and its idempotency key derives from the row and
the attempt's number; an attempt whose answer was lost is first asked about (the gateway's status), and
made again under the same key only if the gateway never saw it; failures back off; the last failure ends
it (the change undone, the refund left FAILED to an operator). What success and failure do to the booking
is manage.py's (`settle_change`, `undo_change`) and here (`refund_paid`, `refund_failed`)."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.locking import claim
from orders.gateway import ChargeResult, ChargeState, ChargeStatus
from orders.models import AttemptOutcome, AuditAction, BookingChange, ChangeState, Order, Refund, RefundState
from orders.services import change_outcome
from orders.services.common import lock_order, lost_after, record_change
from orders.services.money_queue import MoneyKind, enqueue_money_on_commit
from orders.services.notices import notify_on_commit
from orders.services.payments import backoff_seconds


@dataclass(frozen=True)
class MoneyTicket:
    """What a worker needs for one gateway call (or, with `reconcile`, to ask what became of one)."""

    kind: MoneyKind
    pk: int
    order_id: str
    number: int
    amount: Decimal
    currency: str
    code: str  # the payment code of a charge; blank for a refund
    idempotency_key: str
    started_at: str
    reconcile: bool = False


Row = BookingChange | Refund
OPEN = {MoneyKind.CHANGE: ChangeState.CHARGING, MoneyKind.REFUND: RefundState.PENDING}


def limit_of(kind: MoneyKind) -> int:
    return settings.PAYMENT_MAX_ATTEMPTS if kind == MoneyKind.CHANGE else settings.REFUND_MAX_ATTEMPTS


def money_key(kind: MoneyKind, row: Row, number: int) -> str:
    """The gateway's idempotency key of a try: the row's kind and id, when it was made (so a database
    restored or ids used again never meet old keys) and the try's number."""
    created_us = (row.created_at - _EPOCH) // dt.timedelta(microseconds=1)
    return f"{kind}:{row.order_id}:{row.pk}:{created_us}:{number}"


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def lock_row(kind: MoneyKind, pk: int) -> tuple[Order, Row]:
    """The row's order locked first (the lock order of every change: order, then what it owns), then the row."""
    model: type[Row] = BookingChange if kind == MoneyKind.CHANGE else Refund
    order_id = model.objects.values_list("order_id", flat=True).get(pk=pk)
    order = lock_order(order_id)
    return order, model.objects.select_for_update().get(pk=pk)


def _ticket(kind: MoneyKind, row: Row, attempt: dict, *, reconcile: bool = False) -> MoneyTicket:
    amount = row.difference if isinstance(row, BookingChange) else row.amount
    return MoneyTicket(
        kind=kind,
        pk=row.pk,
        order_id=row.order_id,
        number=attempt["number"],
        amount=abs(amount),
        currency=row.currency,
        code=row.payment_code if isinstance(row, BookingChange) else "",
        idempotency_key=money_key(kind, row, attempt["number"]),
        started_at=attempt["started_at"],
        reconcile=reconcile,
    )


def start_money_attempt(*, kind: MoneyKind, pk: int, now: dt.datetime | None = None) -> MoneyTicket | None:
    """The next try if one is due, or the ticket to reconcile a try whose answer was lost; None if there is
    nothing to do (safe for a redelivered task)."""
    now = now or timezone.now()
    with transaction.atomic():
        order, row = lock_row(kind, pk)
        if row.state != OPEN[kind]:
            return None
        last = row.attempts[-1] if row.attempts else None
        if last is not None and last["outcome"] == AttemptOutcome.RUNNING:
            if lost_after(dt.datetime.fromisoformat(last["started_at"])) > now:
                return None  # its worker still has time to answer
            return _ticket(kind, row, last, reconcile=True)
        unverified = next((a for a in row.attempts if a.get("unverified") and not a.get("checked")), None)
        if unverified is not None:  # before another key, or giving up: did that try move money after all?
            return _ticket(kind, row, unverified, reconcile=True)
        if last is not None and _tries_this_round(row, last["number"]) >= limit_of(kind):
            _give_up(order, kind, row, now=now)  # its last try's outcome is known now
            return None
        if last is not None:
            due = dt.datetime.fromisoformat(last["finished_at"]) + dt.timedelta(seconds=backoff_seconds(last["number"]))
            if due > now:
                row.due_at = due
                row.save(update_fields=["due_at"])
                return None
        attempt = {"number": len(row.attempts) + 1, "outcome": AttemptOutcome.RUNNING, "started_at": now.isoformat()}
        row.attempts = [*row.attempts, attempt]
        row.due_at = lost_after(now)
        row.save(update_fields=["attempts", "due_at"])
        _audit(order, kind, row, f"{kind} try {attempt['number']} of {limit_of(kind)} started", attempt)
        return _ticket(kind, row, attempt)


def finish_money_attempt(*, ticket: MoneyTicket, result: ChargeResult, now: dt.datetime | None = None) -> None:
    """Record a try's answer (only the run the ticket belongs to: a try made again answers for itself)."""
    now = now or timezone.now()
    with transaction.atomic():
        order, row = lock_row(ticket.kind, ticket.pk)
        attempt = row.attempts[ticket.number - 1] if len(row.attempts) >= ticket.number else None
        current = (
            attempt is not None
            and attempt["outcome"] == AttemptOutcome.RUNNING
            and attempt["started_at"] == ticket.started_at
        )
        if row.state != OPEN[ticket.kind] or attempt is None or not current:
            return
        if result.outcome == AttemptOutcome.INTERRUPTED:  # its worker stopped: made again now, no try used
            row.attempts = row.attempts[:-1]
            row.due_at = now
            row.save(update_fields=["attempts", "due_at"])
            reason = f"{ticket.kind} try {ticket.number} interrupted: its worker was stopping; made again now"
            _audit(order, ticket.kind, row, reason, {**attempt, "outcome": AttemptOutcome.INTERRUPTED})
            return
        _settle(order, ticket.kind, row, result, now=now)


def reconcile_money_attempt(
    *, ticket: MoneyTicket, found: ChargeStatus, now: dt.datetime | None = None
) -> MoneyTicket | None:
    """What the gateway says of a try whose answer was lost (still running past its time), or that failed
    unanswered and unverified: its outcome if it decided; else a lost try is made again now under the same
    key (no try used: its ticket is returned) and an unverified one counts as the failure it was. None if
    there is nothing to call."""
    now = now or timezone.now()
    with transaction.atomic():
        order, row = lock_row(ticket.kind, ticket.pk)
        attempt = next((a for a in row.attempts if a["number"] == ticket.number), None)
        if row.state != OPEN[ticket.kind] or attempt is None:
            return None
        answer = found.result()
        if attempt.get("unverified") and not attempt.get("checked"):
            checked = {**attempt, "checked": found.state}
            if answer is not None and answer.ok:  # it moved money after all: that is the outcome
                _settle(order, ticket.kind, row, answer, now=now, reconciled=True, attempt=checked)
                return None
            row.attempts = [checked if a["number"] == ticket.number else a for a in row.attempts]
            row.due_at = now  # the next try, or the end, is due at once
            row.save(update_fields=["attempts", "due_at"])
            return None
        if (
            attempt is not row.attempts[-1]
            or attempt["outcome"] != AttemptOutcome.RUNNING
            or lost_after(dt.datetime.fromisoformat(attempt["started_at"])) > now
        ):
            return None
        if answer is not None:
            _settle(order, ticket.kind, row, answer, now=now, reconciled=True)
            return None
        again = {**attempt, "started_at": now.isoformat(), "reconciled": ChargeState.UNKNOWN}
        row.attempts = [*row.attempts[:-1], again]
        row.due_at = lost_after(now)
        row.save(update_fields=["attempts", "due_at"])
        return _ticket(ticket.kind, row, again)


def _settle(
    order: Order,
    kind: MoneyKind,
    row: Row,
    result: ChargeResult,
    *,
    now: dt.datetime,
    reconciled: bool = False,
    attempt: dict | None = None,
) -> None:
    """Record a try's outcome (the last try's, or `attempt`'s, an earlier one found to have moved money)
    and what follows: settled on success; after the round's last failure, given up, unless a try is still
    unverified (the gateway is asked about it first: start_money_attempt)."""
    attempt = {**(attempt or row.attempts[-1]), "outcome": result.outcome, "error": result.error[:300]}
    attempt["finished_at"] = attempt.get("finished_at") or now.isoformat()
    if reconciled:
        attempt["reconciled"] = True
    if result.unverified:
        attempt["unverified"] = True
    row.attempts = [attempt if a["number"] == attempt["number"] else a for a in row.attempts]
    number, limit = _tries_this_round(row, attempt["number"]), limit_of(kind)
    if result.ok:
        row.last_error, row.due_at = "", None
        if isinstance(row, BookingChange):
            change_outcome.settle_change(order, row, now=now)
        else:
            refund_paid(order, row, now=now)
    elif number >= limit and not result.unverified:
        _give_up(order, kind, row, now=now)
    else:
        wait = backoff_seconds(number)
        then = "asking the gateway about it first" if result.unverified else f"trying again in {wait:g} s"
        row.last_error = f"Try {number} of {limit} failed: {result.error or result.outcome}; {then}."
        row.due_at = now + dt.timedelta(seconds=wait)
        row.save(update_fields=["attempts", "due_at", "last_error"])
        _audit(order, kind, row, f"{kind} try {number} of {limit} failed: {result.outcome}", attempt)


def _give_up(order: Order, kind: MoneyKind, row: Row, *, now: dt.datetime) -> None:
    """Every try of the round failed, each outcome known: the change undone, the refund left to an operator."""
    row.last_error, row.due_at = _failures(row), None
    if isinstance(row, BookingChange):
        change_outcome.undo_change(order, row, now=now)
    else:
        refund_failed(order, row, now=now)


def _tries_this_round(row: Row, number: int) -> int:
    """Tries since an operator last sent a failed refund back (its last failed try is marked `gave_up`)."""
    ended = [a["number"] for a in row.attempts if a.get("gave_up")]
    return number - (ended[-1] if ended else 0)


def _failures(row: Row) -> str:
    tries = "; ".join(f"try {a['number']}: {a.get('error') or a['outcome']}" for a in row.attempts)
    return f"Failed after {len(row.attempts)} tries ({tries})."[:500]


def _audit(order: Order, kind: MoneyKind, row: Row, reason: str, attempt: dict) -> None:
    action = AuditAction.CHANGE_SEATS if kind == MoneyKind.CHANGE else AuditAction.REFUND
    details = {f"{kind}_id": row.pk, "attempt": attempt["number"], "outcome": attempt["outcome"]}
    record_change(order, action=action, from_state=order.state, actor="system:payments", reason=reason, details=details)


def refund_paid(order: Order, refund: Refund, *, now: dt.datetime) -> None:
    refund.pay()
    refund.paid_at = now
    refund.save(update_fields=["state", "attempts", "due_at", "last_error", "paid_at"])
    record_change(
        order,
        action=AuditAction.REFUND,
        from_state=order.state,
        actor="system:payments",
        reason=f"refund {refund.credit_note} paid: {refund.amount} {refund.currency}",
        details={"refund_id": refund.pk, "state": refund.state, "amount": str(refund.amount)},
    )
    notify_on_commit(order, kind="refunded", key=f"refund:{refund.pk}", now=now)


def refund_failed(order: Order, refund: Refund, *, now: dt.datetime) -> None:
    refund.give_up()
    refund.attempts = [*refund.attempts[:-1], {**refund.attempts[-1], "gave_up": True}]
    refund.save(update_fields=["state", "attempts", "due_at", "last_error"])
    record_change(
        order,
        action=AuditAction.REFUND,
        from_state=order.state,
        actor="system:payments",
        reason=f"refund {refund.credit_note} given up: {refund.last_error}"[:500],
        details={"refund_id": refund.pk, "state": refund.state},
    )


def retry_refund(*, refund_id: int, actor: str, reason: str, now: dt.datetime | None = None) -> Refund:
    """An operator's: a FAILED refund tried again (its tries start over; each has a key of its own)."""
    now = now or timezone.now()
    with transaction.atomic():
        order, refund = lock_row(MoneyKind.REFUND, refund_id)
        assert isinstance(refund, Refund)
        refund.retry()
        # Earlier tries keep their keys: a new series numbers on from them, so no key is used twice.
        refund.due_at, refund.last_error = now, ""
        refund.save(update_fields=["state", "due_at", "last_error"])
        record_change(
            order,
            action=AuditAction.REFUND,
            from_state=order.state,
            actor=actor,
            reason=f"refund {refund.credit_note} tried again: {reason}"[:500],
            details={"refund_id": refund.pk, "state": refund.state},
        )
        enqueue_money_on_commit(MoneyKind.REFUND, refund.pk)
    return refund


def enqueue_due_money(*, now: dt.datetime | None = None, limit: int = 100) -> list[tuple[str, int]]:
    """The timer loop's: hand due charges and refunds to the workers (claimed for one lease, as payments)."""
    now = now or timezone.now()
    due: list[tuple[str, int]] = []
    with transaction.atomic():
        for kind, model, state in (
            (MoneyKind.CHANGE, BookingChange, ChangeState.CHARGING),
            (MoneyKind.REFUND, Refund, RefundState.PENDING),
        ):
            ids = list(
                claim(model.objects.all())
                .filter(state=state, due_at__lte=now)
                .order_by("due_at")
                .values_list("pk", flat=True)[:limit]
            )
            if ids:
                model.objects.filter(pk__in=ids).update(due_at=lost_after(now))
                for pk in ids:
                    enqueue_money_on_commit(kind, pk)
                due += [(str(kind), pk) for pk in ids]
    return due
