"""An order's seat selection: the domain limits, the hold's deadline, and the early refusal of seats
visibly taken; the holds themselves are the inventory's (inventory/services.py, docs/locking.md)."""

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from django.conf import settings
from django.db import connection

from core.errors import InvalidInput
from flights.models import Seat
from inventory import services as inventory
from inventory.events import publish_seat_changes, sorted_labels
from inventory.models import HoldState, SeatHold
from orders.models import AuditAction, Order, OrderState
from orders.selectors import OrderStatus
from orders.services.common import record_change, transition


def check_labels(labels: Sequence[str]) -> list[str]:
    """Domain limits on a selection (the API validates types and format before this)."""
    limit = settings.MAX_SEATS_PER_ORDER
    if len(labels) > limit:
        raise InvalidInput(
            f"An order can hold at most {limit} seats; you asked for {len(labels)}.", code="too_many_seats"
        )
    repeated = sorted(label for label, count in Counter(labels).items() if count > 1)
    if repeated:
        raise InvalidInput(
            f"Each seat may be listed once; repeated: {', '.join(repeated)}.", code="duplicate_seats", seats=repeated
        )
    return list(labels)


def change_selection(order: Order, *, wanted: list[str], now: dt.datetime, actor: str) -> OrderStatus:
    from_state = order.state
    transition(order, order.select_seats if wanted else order.clear_seats, verb="change seats")
    expires_at = None
    if wanted:
        order.first_held_at = order.first_held_at or now
        expires_at = min(
            now + dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS),
            order.first_held_at + dt.timedelta(seconds=settings.HOLD_EXTENSION_CAP_SECONDS),
        )
    selection = inventory.hold_seats(
        holder=order.pk, flight=order.flight, labels=wanted, expires_at=expires_at, now=now
    )
    order.hold_expires_at = expires_at
    order.save(update_fields=["state", "hold_expires_at", "first_held_at", "updated_at"])
    status = record_change(
        order,
        action=AuditAction.SELECT_SEATS,
        from_state=from_state,
        actor=actor,
        reason=f"seats {', '.join(selection.labels) or 'none'}",
        details={"seats": selection.labels, "released": selection.released},
        seats=selection.labels,
    )
    publish_seat_changes(flight_code=order.flight.code, available=selection.released, held=selection.new)
    return status


def visibly_taken(*, order_id: str, labels: list[str], now: dt.datetime) -> list[str]:
    """Wanted seats that another order holds live or has booked, as committed right now, read without locks.

    When many buyers race for one seat, the losers are refused here, without queueing on the seat's lock.
    Refusing on a committed live hold is always right (the seat was taken at that moment); anything this
    read misses, the locked check in change_selection still catches. It refuses only where the locked
    path would answer seats_taken too: every label exists, and the order may change seats and has not lapsed.
    """
    if not labels:
        return []
    # Hand-written: the hot-seat losers' whole database cost, and the ORM's query building cost more than
    # the query itself here (about 3 ms against 0.3 ms). Only table names are formatted in; values are parameters.
    sql = f"""
        SELECT s.label, EXISTS (
            SELECT 1 FROM {SeatHold._meta.db_table} h
            WHERE h.seat_id = s.id AND h.order_id <> o.id
              AND (h.state = %s OR (h.state = %s AND (h.expires_at IS NULL OR h.expires_at > %s))))
        FROM {Order._meta.db_table} o JOIN {Seat._meta.db_table} s ON s.flight_id = o.flight_id
        WHERE o.id = %s AND s.label IN ({", ".join(["%s"] * len(labels))})
          AND (o.state = %s OR (o.state = %s AND (o.hold_expires_at IS NULL OR o.hold_expires_at > %s)))"""  # noqa: S608
    at = connection.ops.adapt_datetimefield_value(now)  # as the ORM would write it (SQLite compares text)
    params = [
        HoldState.CONFIRMED,
        HoldState.HELD,
        at,
        order_id,
        *labels,
        OrderState.PENDING,
        OrderState.SEATS_SELECTED,
        at,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if len(rows) != len(labels):
        return []
    return sorted_labels(label for label, taken in rows if taken)
