"""The operators' changes (the admin's actions): end a hold early, hand a stuck payment to the workers,
revoke a booking's find-my-booking links."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from orders.models import (
    AuditAction,
    OrderState,
)
from orders.services.common import (
    OrderChange,
    WrongState,
    enqueue_payment_on_commit,
    expire_locked,
    lock_order,
    record_change,
)


def expire_now(*, order_id: str, actor: str, now: dt.datetime | None = None) -> OrderChange:
    """End an order's hold before its deadline: SEATS_SELECTED -> EXPIRED, seats released."""
    now = now or timezone.now()
    with transaction.atomic():
        order = lock_order(order_id)
        if order.state != OrderState.SEATS_SELECTED:
            raise WrongState(
                f"Cannot expire: the order is {order.state}; only a held selection can expire.", state=order.state
            )
        status = expire_locked(order, now=now, actor=actor, reason="expired by an operator")
    return OrderChange(order, status)


def retry_payment_now(*, order_id: str, actor: str, now: dt.datetime | None = None) -> OrderChange:
    """Hand a payment in PROCESSING_PAYMENT to the workers at once, as if its next step were due.

    The task still keeps the rules: a running attempt within its timeout is left alone, a lost one is
    reconciled with the gateway first, and no attempt beyond the last is made.
    """
    now = now or timezone.now()
    with transaction.atomic():
        order = lock_order(order_id)
        if order.state != OrderState.PROCESSING_PAYMENT:
            raise WrongState(f"Cannot retry the payment: the order is {order.state}.", state=order.state)
        order.payment_due_at = now
        order.save(update_fields=["payment_due_at", "updated_at"])
        status = record_change(
            order,
            action=AuditAction.RETRY_PAYMENT,
            from_state=order.state,
            actor=actor,
            reason="payment handed to the workers by an operator",
        )
        enqueue_payment_on_commit(order.pk)
    return OrderChange(order, status)


def revoke_booking_links(*, order_id: str, actor: str) -> OrderChange:
    """Make every token find-my-booking handed out for the order stop working (a link leaked or shared
    too far); the traveller gets a new one by finding the booking again. The order's own token stays."""
    with transaction.atomic():
        order = lock_order(order_id)
        if not order.reference:
            raise WrongState(f"The order has no booking links: it is {order.state}.", state=order.state)
        order.booking_link_version += 1
        order.save(update_fields=["booking_link_version", "updated_at"])
        status = record_change(
            order,
            action=AuditAction.REVOKE_LINKS,
            from_state=order.state,
            actor=actor,
            reason=f"booking links revoked by an operator (version {order.booking_link_version})",
        )
    return OrderChange(order, status)
