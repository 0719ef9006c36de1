"""What a traveller is shown before changing or cancelling a paid booking: read only, computed with the same
prices and policy the services apply (orders/services/manage.py), so the page states what the POST will do."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from flights.fares import fares_of
from inventory.selectors import held_seat_labels
from orders.models import Order
from orders.selectors import confirmed_at, passengers_of
from orders.services.manage import cancellation_fee


@dataclass(frozen=True)
class CancelLine:
    seat: str
    passenger: str  # "First Last", or ""
    price: Decimal


@dataclass(frozen=True)
class CancelPreview:
    lines: list[CancelLine]
    price: Decimal  # of every seat
    fee: Decimal  # kept if every seat is given back now
    refund: Decimal
    currency: str
    full_refund_until: dt.datetime | None  # the end of the full refund window, if it is still open
    fee_percent: str  # the policy's fee after the window, e.g. "20"


def cancel_preview(order: Order, *, now: dt.datetime | None = None) -> CancelPreview:
    """The booking's seats with their price, and what cancelling them all now gives back by the policy."""
    now = now or timezone.now()
    seats = held_seat_labels(order_id=order.pk, booked_only=True)
    fares = fares_of(order.flight)
    frozen = order.seat_prices or {}
    names = {p["seat"]: f"{p['firstName']} {p['lastName']}" for p in passengers_of(order, seats=seats)}
    lines = [CancelLine(label, names.get(label, ""), fares.frozen_total([label], frozen)) for label in seats]
    price = fares.frozen_total(seats, frozen)
    fee = cancellation_fee(order, price=price, now=now)
    confirmed = confirmed_at(order) or now
    window_ends = confirmed + dt.timedelta(seconds=settings.REFUND_FULL_WINDOW_SECONDS)
    return CancelPreview(
        lines=lines,
        price=price,
        fee=fee,
        refund=price - fee,
        currency=order.currency or order.flight.currency,
        full_refund_until=window_ends if now <= window_ends else None,
        fee_percent=f"{settings.CANCELLATION_FEE_PERCENT:g}",
    )


@dataclass(frozen=True)
class ChangePreview:
    seats: list[str]  # the seats asked for
    new: list[str]  # those the booking has not yet
    difference: Decimal  # what the change costs now (negative: paid back)
    currency: str


def change_preview(order: Order, *, labels: list[str]) -> ChangePreview | None:
    """What changing the booking's seats for `labels` costs at today's fares (None: no change, or not as many)."""
    current = held_seat_labels(order_id=order.pk, booked_only=True)
    if set(labels) == set(current) or len(labels) != len(current):
        return None
    fares = fares_of(order.flight)
    new = [label for label in labels if label not in current]
    given_back = [label for label in current if label not in labels]
    prices = fares.freeze(new, earlier={}, currency="")
    difference = fares.frozen_total(new, prices) - fares.frozen_total(given_back, order.seat_prices or {})
    return ChangePreview(seats=labels, new=new, difference=difference, currency=order.currency or order.flight.currency)


def changes_open(order: Order, *, now: dt.datetime | None = None) -> bool:
    """Whether the traveller may still change or cancel this paid booking (they close before departure)."""
    closes = order.flight.departs_at - dt.timedelta(seconds=settings.BOOKING_CHANGES_CLOSE_SECONDS)
    return (now or timezone.now()) < closes


def manage_state(order: Order, status: Any) -> dict[str, Any] | None:
    """The booking page's manage part (None unless the booking is paid): whether it may still change, the
    seat change being paid for or last made, the last refund."""
    if status["State"] != "CONFIRMED" and not status["Refund"]:
        return None
    change = status["Change"]
    return {
        "confirmed": status["State"] == "CONFIRMED",
        "open": status["State"] == "CONFIRMED" and changes_open(order),
        "change": change,
        "charging": bool(change and change["State"] == "CHARGING"),
        "refund": status["Refund"],
    }
