"""What every change of an order shares: the order's lock, the hold's lapse, the state machine's
refusals, and the one writer of the audit row, the status event and the log line."""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django_fsm import TransitionNotAllowed

from core.errors import Conflict, NotFound
from core.locking import busy_on_lock_timeout, lock_one
from inventory import services as inventory
from inventory.events import publish_seat_changes
from inventory.models import HoldState
from orders import queue
from orders.events import publish_order_statuses
from orders.models import AuditAction, AuditEntry, Order, OrderState
from orders.selectors import OrderStatus, fetch_order, order_status

log = logging.getLogger(__name__)


class HoldExpired(Conflict):
    code = "hold_expired"


class WrongState(Conflict):
    code = "wrong_state"


@dataclass(frozen=True)
class OrderChange:
    """What a change produced: the order as committed, and the status object it published."""

    order: Order
    status: OrderStatus


def change_unless_lapsed(
    order_id: str,
    *,
    now: dt.datetime,
    actor: str,
    change: Callable[[Order], OrderStatus],
    seat_change: bool = False,
) -> OrderChange:
    """Lock the order and apply `change` to it, unless its hold has lapsed: then expire it (that much is
    committed) and refuse, so that a late request both sees and causes the expiry. A `seat_change` also
    makes its client's seat changes on the flight take turns (`lock_order`)."""
    with transaction.atomic():
        order = lock_order(order_id, lock_client=seat_change)
        lapsed = order.hold_lapsed(now)
        if lapsed:
            expire_locked(order, now=now, actor=actor, reason="hold deadline passed")
        else:
            status = change(order)
    if lapsed:
        raise hold_expired_error(order)
    return OrderChange(order, status)


def lock_order(order_id: str, *, lock_client: bool = False) -> Order:
    """The order row, locked (its flight read with it, not locked). `lock_client`: on PostgreSQL, with its
    client's advisory locks on the flight in the same statement, so that the seats the client holds are
    counted after its previous seat change committed (orders/services/client_limits.py); SQLite's writers
    take turns anyway."""
    if connection.vendor == "postgresql":
        with busy_on_lock_timeout():
            order, _seats = fetch_order(order_id=order_id, lock=True, lock_client=lock_client)
        if order is None:
            raise NotFound(f"There is no order {order_id!r}.", code="unknown_order")
        return order
    try:
        return lock_one(Order.objects.select_related("flight"), pk=order_id)
    except Order.DoesNotExist:
        raise NotFound(f"There is no order {order_id!r}.", code="unknown_order") from None


def late_ms(order: Order, now: dt.datetime) -> int:
    """How long after its hold's deadline a lapsed order is expired, in milliseconds."""
    assert order.hold_expires_at is not None  # a lapsed hold has a deadline
    return round((now - order.hold_expires_at).total_seconds() * 1000)


def hold_expired_error(order: Order) -> HoldExpired:
    ended = f" at {order.hold_expires_at:%Y-%m-%d %H:%M:%S} UTC" if order.hold_expires_at else ""
    return HoldExpired(
        f"The hold on this order's seats ended{ended} and the order has expired. Create a new order to book again.",
        state=OrderState.EXPIRED,
    )


def transition(order: Order, method: Callable[[], None], *, verb: str) -> None:
    try:
        method()
    except TransitionNotAllowed:
        if order.state == OrderState.EXPIRED:  # the same answer whether or not the timer loop got there first
            raise hold_expired_error(order) from None
        raise WrongState(f"Cannot {verb}: the order is {order.state}.", state=order.state) from None


def expire_locked(order: Order, *, now: dt.datetime, actor: str, reason: str) -> OrderStatus:
    from_state = order.state
    order.expire()
    released = inventory.release_holds(holder=order.pk, now=now, state=HoldState.EXPIRED)
    order.save(update_fields=["state", "updated_at"])
    status = record_change(order, action=AuditAction.EXPIRE, from_state=from_state, actor=actor, reason=reason)
    publish_seat_changes(flight_code=order.flight.code, available=released)
    return status


def record_change(
    order: Order,
    *,
    action: str,
    from_state: str,
    actor: str,
    reason: str = "",
    details: dict[str, Any] | None = None,
    seats: list[str] | None = None,
) -> OrderStatus:
    """The audit row, the order's status event and the log line every change writes; returns the status
    object it published. `seats`, if known, saves a query."""
    return record_changes(
        [order], action=action, from_state=from_state, actor=actor, reason=reason, details=[details or {}], seats=seats
    )[0]


def record_changes(
    orders: list[Order],
    *,
    action: str,
    from_state: str,
    actor: str,
    reason: str,
    details: list[dict[str, Any]],
    seats: list[str] | None = None,
) -> list[OrderStatus]:
    """`record_change` for orders that made the same change together (the timer loop's expiry batch): one
    statement for the audit rows and one for the events, however many orders."""
    AuditEntry.objects.bulk_create(
        audit_entry(order, action=action, from_state=from_state, actor=actor, reason=reason, details=order_details)
        for order, order_details in zip(orders, details, strict=True)
    )
    statuses = [order_status(order=order, seats=seats) for order in orders]
    publish_order_statuses(statuses)
    for order in orders:
        log_on_commit(order, action=action, from_state=from_state, actor=actor, reason=reason)
    return statuses


def audit_entry(
    order: Order, *, action: str, from_state: str, actor: str, reason: str, details: dict[str, Any]
) -> AuditEntry:
    """The audit row of a change of `order`, unsaved: every write path saves this one (the seat change's
    one statement too, orders/services/seat_change_sql.py)."""
    return AuditEntry(
        order=order,
        action=action,
        from_state=from_state,
        to_state=order.state,
        actor=actor,
        reason=reason,
        details=details,
    )


def log_on_commit(order: Order, *, action: str, from_state: str, actor: str, reason: str) -> None:
    """One log line per change, written only if the change commits."""
    transition = f"{from_state or 'none'}->{order.state}"
    fields = {
        "order_id": order.pk,
        "flight": order.flight.code,
        "action": action,
        "transition": transition,
        "actor": actor,
    }
    transaction.on_commit(lambda: log.info("order %s: %s %s (%s)", order.pk, action, transition, reason, extra=fields))


def lost_after(start: dt.datetime) -> dt.datetime:
    """When work started at `start` counts as lost: the attempt's timeout plus a margin."""
    return start + dt.timedelta(seconds=settings.PAYMENT_TIMEOUT_SECONDS + settings.PAYMENT_LOST_MARGIN_SECONDS)


def enqueue_payment_on_commit(order_id: str) -> None:
    transaction.on_commit(lambda: queue.enqueue_payment(order_id))
