"""The timer loop's batch changes: lapsed holds expired, due payments handed to the workers."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from core.locking import claim
from inventory import services as inventory
from inventory.events import publish_seat_changes
from orders.models import AuditAction, Order, OrderState, lapsed_holds
from orders.services.common import enqueue_payment_on_commit, late_ms, lost_after, record_changes


def expire_lapsed_holds(*, now: dt.datetime | None = None, limit: int = 500) -> list[str]:
    """Expire up to `limit` orders whose hold deadline has passed; returns their ids.

    Rows another transaction holds are skipped (the next tick gets them), so several timer loops can
    run at once. One batch costs the same few statements whatever its size (on PostgreSQL).
    """
    now = now or timezone.now()
    with transaction.atomic():
        orders = list(
            claim(Order.objects.select_related("flight")).filter(lapsed_holds(now)).order_by("hold_expires_at")[:limit]
        )
        if not orders:
            return []
        for order in orders:
            order.expire()  # the state machine checks each one
        ids = [order.pk for order in orders]
        freed_by_flight = inventory.expire_holds(holders=ids, now=now)
        Order.objects.filter(pk__in=ids).update(state=OrderState.EXPIRED, updated_at=now)
        record_changes(
            orders,
            action=AuditAction.EXPIRE,
            from_state=OrderState.SEATS_SELECTED,
            actor="system:timers",
            reason="hold deadline passed",
            details=[{"late_ms": late_ms(order, now)} for order in orders],
            seats=[],
        )
        for flight_code in sorted(freed_by_flight):
            publish_seat_changes(flight_code=flight_code, available=freed_by_flight[flight_code])
    return ids


def enqueue_due_payments(*, now: dt.datetime | None = None, limit: int = 100) -> list[str]:
    """Hand payments whose next step is due to the workers; returns their order ids.

    Each is claimed by pushing its due time one lease ahead, so the loop does not enqueue it again
    every tick; if the task is lost too, the lease runs out and it is enqueued once more.
    """
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            claim(Order.objects.all())
            .filter(state=OrderState.PROCESSING_PAYMENT, payment_due_at__lte=now)
            .order_by("payment_due_at")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Order.objects.filter(pk__in=ids).update(payment_due_at=lost_after(now))
            for order_id in ids:
                enqueue_payment_on_commit(order_id)
    return ids
