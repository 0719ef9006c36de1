"""Money the gateway took after the order ended without it (the gateway answered after our timeout, or a
reconciliation found the charge): never kept without seats. Its seats are booked again if every one is
still free, and the order CONFIRMED; otherwise the amount is refunded. Either way the traveller is told."""

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import Conflict
from inventory import services as inventory
from inventory.events import publish_seat_changes
from orders.models import AuditAction, NoticeKind, Order, OrderState, PaymentStatus, Refund
from orders.selectors import last_seats
from orders.services.common import lock_order, record_change
from orders.services.confirmation import send_confirmation_on_commit
from orders.services.notices import notify_on_commit
from orders.services.reference import give_reference
from orders.services.refunds import create_refund

ENDED_STATES = (OrderState.FAILED, OrderState.EXPIRED, OrderState.CANCELLED)


class LateMoney(StrEnum):
    CONFIRMED = "confirmed"  # the seats booked again: the order is CONFIRMED after all
    REFUNDED = "refunded"  # a seat was gone: the amount goes back
    KNOWN = "known"  # this charge was settled already, or the order is still paying or booked


def keep_late_payment(*, order_id: str, charge_key: str, actor: str, now: dt.datetime | None = None) -> LateMoney:
    """Settle a charge (the gateway's idempotency key `charge_key`) found for an order that ended unpaid.
    Safe to repeat: a charge is settled once (a refund per key, and a CONFIRMED order is left alone)."""
    now = now or timezone.now()
    with transaction.atomic():
        order = lock_order(order_id)
        if order.state not in ENDED_STATES or Refund.objects.filter(charge_key=charge_key).exists():
            return LateMoney.KNOWN
        seats = last_seats(order)
        from_state = order.state
        try:
            with transaction.atomic():  # a seat taken meanwhile (its lock, or the unique index) undoes this alone
                inventory.hold_beside_booked(holder=order.pk, flight=order.flight, labels=seats, now=now)
                booked = inventory.confirm_holds(holder=order.pk, now=now)
        except (Conflict, IntegrityError) as exc:
            amount = order.amount if order.amount is not None else Decimal("0.00")
            create_refund(
                order, reason="late_payment", amount=amount, seats=seats, charge_key=charge_key, actor=actor, now=now
            )
            record_change(
                order,
                action=AuditAction.LATE_PAYMENT,
                from_state=from_state,
                actor=actor,
                reason=f"late payment refunded: {', '.join(seats)} no longer free ({exc})"[:500],
                details={"charge_key": charge_key, "outcome": LateMoney.REFUNDED},
            )
            return LateMoney.REFUNDED
        transition_late(order, now=now)
        record_change(
            order,
            action=AuditAction.LATE_PAYMENT,
            from_state=from_state,
            actor=actor,
            reason=f"late payment kept: seats {', '.join(booked)} booked again",
            details={"charge_key": charge_key, "outcome": LateMoney.CONFIRMED},
            seats=booked,
        )
        publish_seat_changes(flight_code=order.flight.code, confirmed=booked)
        notify_on_commit(order, kind=NoticeKind.LATE_CONFIRMED, key=f"late:{charge_key}"[:120], now=now)
    return LateMoney.CONFIRMED


def transition_late(order: Order, *, now: dt.datetime) -> None:
    order.confirm_late()
    give_reference(order)
    send_confirmation_on_commit(order, now=now)
    order.payment_status, order.last_payment_error, order.hold_expires_at = PaymentStatus.SUCCESS, "", None
    fields = ["state", "payment_status", "last_payment_error", "hold_expires_at", "confirmation_due_at", "updated_at"]
    order.save(update_fields=fields)
