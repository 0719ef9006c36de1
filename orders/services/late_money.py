"""Money the gateway took for a payment attempt after it counted as failed (its answer came after our
timeout, and the status query could not tell then): never kept without seats. A FAILED order's seats are
booked again if every one is still free, and the order CONFIRMED (its confirmation email and a notice
follow); any other such charge is refunded (its email goes once the refund is paid)."""

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import Conflict
from inventory import services as inventory
from inventory.events import publish_seat_changes
from orders.models import AttemptOutcome, AuditAction, NoticeKind, Order, OrderState, PaymentStatus, Refund
from orders.selectors import last_seats
from orders.services.common import lock_order, record_change
from orders.services.confirmation import send_confirmation_on_commit
from orders.services.notices import notify_on_commit
from orders.services.payments import attempt_key
from orders.services.reference import give_reference
from orders.services.refunds import create_refund


class LateMoney(StrEnum):
    CONFIRMED = "confirmed"  # the seats booked again: the order is CONFIRMED after all
    REFUNDED = "refunded"  # the order kept other money, or a seat was gone: the amount goes back
    KNOWN = "known"  # this charge was settled already, or is the one the booking was paid with


def keep_late_payment(*, order_id: str, number: int, actor: str, now: dt.datetime | None = None) -> LateMoney:
    """Settle a charge the gateway took for the order's payment attempt `number` after that attempt
    counted as failed. A FAILED order gets its seats back if every one is still free (CONFIRMED); any
    other charge the booking was not paid with is refunded (a second late charge, or one for a booking
    that is paid, changed or cancelled since). Safe to repeat: each charge is settled once."""
    now = now or timezone.now()
    with transaction.atomic():
        order = lock_order(order_id)
        key = attempt_key(order, number)
        if order.state == OrderState.PROCESSING_PAYMENT or _settled(order, key):
            return LateMoney.KNOWN
        seats = last_seats(order)
        if order.state == OrderState.FAILED and seats and _book_again(order, seats, now=now):
            _record(
                order,
                number,
                key,
                LateMoney.CONFIRMED,
                f"late payment kept: seats {', '.join(seats)} booked again",
                actor,
                from_state=OrderState.FAILED,
                seats=seats,
            )
            publish_seat_changes(flight_code=order.flight.code, confirmed=seats)
            notify_on_commit(order, kind=NoticeKind.LATE_CONFIRMED, key=f"late:{key}"[:120], now=now)
            return LateMoney.CONFIRMED
        amount = order.amount if order.amount is not None else Decimal("0.00")
        create_refund(order, reason="late_payment", amount=amount, seats=seats, charge_key=key, actor=actor, now=now)
        why = "its seats are no longer free" if order.state == OrderState.FAILED else f"the booking is {order.state}"
        _record(order, number, key, LateMoney.REFUNDED, f"late payment refunded: {why}", actor, from_state=order.state)
    return LateMoney.REFUNDED


def _settled(order: Order, key: str) -> bool:
    """Whether the charge `key` was settled: refunded, kept late, or the attempt that paid the booking."""
    if Refund.objects.filter(charge_key=key).exists():
        return True
    if order.audit_entries.filter(action=AuditAction.LATE_PAYMENT, details__charge_key=key).exists():
        return True
    paid_by = order.payment_attempts.filter(outcome=AttemptOutcome.SUCCESS).values_list("number", flat=True)
    return key in {attempt_key(order, n) for n in paid_by}


def _book_again(order: Order, seats: list[str], *, now: dt.datetime) -> bool:
    """The ended order's seats booked again, all or none (a seat taken meanwhile undoes this alone)."""
    try:
        with transaction.atomic():
            inventory.hold_beside_booked(holder=order.pk, flight=order.flight, labels=seats, now=now)
            inventory.confirm_holds(holder=order.pk, now=now)
    except (Conflict, IntegrityError):
        return False
    order.confirm_late()
    give_reference(order)
    send_confirmation_on_commit(order, now=now)
    order.payment_status, order.last_payment_error, order.hold_expires_at = PaymentStatus.SUCCESS, "", None
    fields = ["state", "payment_status", "last_payment_error", "hold_expires_at", "confirmation_due_at", "updated_at"]
    order.save(update_fields=fields)
    return True


def _record(
    order: Order,
    number: int,
    key: str,
    outcome: LateMoney,
    reason: str,
    actor: str,
    *,
    from_state: str,
    seats: list[str] | None = None,
) -> None:
    record_change(
        order,
        action=AuditAction.LATE_PAYMENT,
        from_state=from_state,
        actor=actor,
        reason=reason[:500],
        details={"charge_key": key, "attempt": number, "outcome": outcome},
        seats=seats,
    )
