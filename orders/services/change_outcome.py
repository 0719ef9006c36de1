"""How a confirmed booking's seat change ends: settled (the new seats booked, the old ones on sale, the
passengers moved, a lower price refunded) or undone (the new seats released, the booking as it was)."""

import datetime as dt
from decimal import Decimal

from flights.fares import CENTS
from inventory import services as inventory
from inventory.events import publish_seat_changes, sorted_labels
from orders.models import AuditAction, BookingChange, NoticeKind, Order
from orders.selectors import OrderStatus
from orders.services.common import record_change
from orders.services.notices import notify_on_commit
from orders.services.refunds import create_refund


def settle_change(order: Order, change: BookingChange, *, now: dt.datetime) -> OrderStatus:
    """The change is paid for (or costs nothing more): the new seats booked and the old ones back on sale
    in one step, the passengers moved with their seats, the lower price refunded."""
    given_back = [label for label in change.seats_before if label not in change.seats_after]
    booked, released = inventory.book_held_instead(holder=order.pk, release=given_back, now=now)
    moves = dict(zip(sorted_labels(given_back), sorted_labels(booked), strict=False))
    order.passengers = [{**p, "seat": moves.get(p["seat"], p["seat"])} for p in order.passengers or []]
    kept = {label: price for label, price in (order.seat_prices or {}).items() if label in change.seats_after}
    order.seat_prices = {**kept, **change.seat_prices}
    order.amount = ((order.amount or Decimal(0)) + change.difference).quantize(CENTS)
    order.save(update_fields=["passengers", "seat_prices", "amount", "updated_at"])
    change.settle()
    change.finished_at = now
    change.save(update_fields=["state", "attempts", "due_at", "last_error", "finished_at"])
    if change.difference < 0:
        create_refund(
            order,
            reason="seat_change",
            amount=-change.difference,
            seats=given_back,
            change=change,
            actor=change.actor,
            now=now,
        )
    status = record_change(
        order,
        action=AuditAction.CHANGE_SEATS,
        from_state=order.state,
        actor=change.actor,
        reason=f"seats changed: {', '.join(given_back)} -> {', '.join(booked)} ({change.difference} {change.currency})",
        details={
            "change_id": change.pk,
            "state": change.state,
            "before": change.seats_before,
            "after": change.seats_after,
        },
        seats=change.seats_after,
    )
    publish_seat_changes(flight_code=order.flight.code, available=released, confirmed=booked)
    notify_on_commit(order, kind=NoticeKind.SEATS_CHANGED, key=f"change:{change.pk}", now=now)
    return status


def undo_change(order: Order, change: BookingChange, *, now: dt.datetime) -> None:
    """The change could not be paid for: its new seats go back on sale, the booking keeps its own."""
    released = inventory.release_holds(holder=order.pk, now=now)
    change.undo()
    change.finished_at = now
    change.save(update_fields=["state", "attempts", "due_at", "last_error", "finished_at"])
    record_change(
        order,
        action=AuditAction.CHANGE_SEATS,
        from_state=order.state,
        actor="system:payments",
        reason=f"seat change undone, the booking keeps {', '.join(change.seats_before)}: {change.last_error}"[:500],
        details={"change_id": change.pk, "state": change.state, "released": released},
    )
    publish_seat_changes(flight_code=order.flight.code, available=released)
