"""Reads about orders. The status object is the contract's: keys as the original system named them."""

import datetime as dt
from typing import TypedDict

from django.conf import settings
from django.utils import timezone

from inventory.events import sorted_labels
from inventory.selectors import held_seat_labels
from orders.models import Order, OrderState


class OrderStatus(TypedDict):
    """The status object: GET /orders/{id}/status, and each "status" event of the order's channel."""

    OrderID: str
    FlightID: str
    State: str
    Seats: list[str]
    HoldExpiresAt: str | None
    AttemptsLeft: int
    LastPaymentErr: str
    PaymentStatus: str


def effective_state(order: Order, now: dt.datetime) -> str:
    """The state as the rules see it: a hold past its deadline is EXPIRED, sweeper or not."""
    if order.state == OrderState.SEATS_SELECTED and order.hold_expires_at is not None and order.hold_expires_at <= now:
        return OrderState.EXPIRED
    state: str = order.state  # django-fsm types FSMField values as Any
    return state


def order_status(*, order: Order, now: dt.datetime | None = None, seats: list[str] | None = None) -> OrderStatus:
    """The status object. Pass `seats` when the caller already knows them, to save the query."""
    now = now or timezone.now()
    state = effective_state(order, now)
    if state not in (OrderState.SEATS_SELECTED, OrderState.PROCESSING_PAYMENT, OrderState.CONFIRMED):
        seats = []
    elif seats is None:
        seats = held_seat_labels(order_id=order.pk)
    return {
        "OrderID": order.pk,
        "FlightID": order.flight.code,
        "State": state,
        "Seats": sorted_labels(seats),
        "HoldExpiresAt": _iso(order.hold_expires_at),
        "AttemptsLeft": max(0, settings.PAYMENT_MAX_ATTEMPTS - order.payment_attempts_used),
        "LastPaymentErr": order.last_payment_error,
        "PaymentStatus": order.payment_status,
    }


def get_order(*, order_id: str) -> Order:
    return Order.objects.select_related("flight").get(pk=order_id)


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
