"""Refunds asked for: each a Refund row with its credit note, paid back by a worker (money.py)."""

import datetime as dt
import hashlib
from decimal import Decimal

from orders.models import AuditAction, BookingChange, Order, Refund
from orders.services.common import record_change
from orders.services.money_queue import MoneyKind, enqueue_money_on_commit


def credit_note_number(order: Order) -> str:
    """CN-<booking reference>-<n>: the booking's n-th refund (an order never confirmed: a digest of its id)."""
    reference = order.reference or hashlib.sha256(order.pk.encode()).hexdigest()[:6].upper()
    return f"CN-{reference}-{order.refunds.count() + 1}"


def create_refund(
    order: Order,
    *,
    reason: str,
    amount: Decimal,
    seats: list[str],
    actor: str,
    now: dt.datetime,
    fee: Decimal = Decimal("0.00"),
    change: BookingChange | None = None,
    charge_key: str | None = None,
    note: str = "",
) -> Refund:
    """A refund of `amount` to the locked order's payer, tried by a worker once this transaction commits."""
    refund = Refund.objects.create(
        order=order,
        change=change,
        reason=reason,
        seats=seats,
        amount=amount,
        fee=fee,
        currency=order.currency or order.flight.currency,
        charge_key=charge_key,
        credit_note=credit_note_number(order),
        due_at=now,
        actor=actor,
        note=note[:500],
    )
    record_change(
        order,
        action=AuditAction.REFUND,
        from_state=order.state,
        actor=actor,
        reason=f"refund {refund.credit_note} of {amount} {refund.currency} asked ({reason})",
        details={"refund_id": refund.pk, "amount": str(amount), "fee": str(fee), "state": refund.state},
    )
    enqueue_money_on_commit(MoneyKind.REFUND, refund.pk)
    return refund
