"""Seats together, proposed before anything is held: the seats the server would choose for the order now
(the same choice as holding them, orders/services/seats.py choose_seats), their zones and price, and the
difference against what the order holds. Read-only: no lock, no write; holding them is a seat change
with exactly these labels, which refuses a seat taken meanwhile."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django_fsm import can_proceed

from flights.fares import fares_of, money
from inventory.selectors import free_seat_labels
from orders.selectors import get_order, order_status
from orders.services.common import hold_expired_error, transition
from orders.services.seats import check_best_count, check_zone, choose_seats


@dataclass(frozen=True)
class SeatProposal:
    order_id: str
    count: int  # what was asked, to propose afresh after a seat is lost
    zone: str | None
    seats: list[str]
    zones: list[str]  # the seats' zones, front first
    total: Decimal  # what the order would pay for them (its seats kept at the price they were held at)
    currency: str
    held_seats: list[str]
    held_total: Decimal

    @property
    def difference(self) -> Decimal:
        """The proposal's total less the seats held now (negative: cheaper)."""
        return self.total - self.held_total

    def as_json(self) -> dict[str, Any]:
        return {
            "orderID": self.order_id,
            "seats": self.seats,
            "zones": self.zones,
            "total": money(self.total),
            "currency": self.currency,
            "heldSeats": self.held_seats,
            "heldTotal": money(self.held_total),
            "difference": money(self.difference),
        }


def propose_best_seats(*, order_id: str, count: int, zone: str | None, now: dt.datetime | None = None) -> SeatProposal:
    """The `count` seats the server would hold for the order now, within `zone` if given, with their price.
    Refused as holding them would be: a bad count or zone (400), fewer seats free (409 not_enough_seats),
    an order that cannot change seats or whose hold lapsed (409)."""
    now = now or timezone.now()
    check_best_count(count)
    order = get_order(order_id=order_id)
    if order.hold_lapsed(now):
        raise hold_expired_error(order)
    if not can_proceed(order.select_seats):
        transition(order, order.select_seats, verb="change seats")  # raises the refusal a seat change gives
    flight = order.flight
    zone = check_zone(flight, zone)
    free = free_seat_labels(flight=flight, holder=order.pk, now=now)
    seats = choose_seats(flight, free=free, count=count, zone=zone)
    fares = fares_of(flight)
    priced = fares.freeze(seats, earlier=order.seat_prices or {}, currency=order.currency)
    status = order_status(order=order, now=now)
    zones = list(dict.fromkeys(priced[label]["zone"] for label in seats))
    return SeatProposal(
        order_id=order.pk,
        count=count,
        zone=zone,
        seats=seats,
        zones=zones,
        total=fares.frozen_total(seats, priced),
        currency=fares.currency,
        held_seats=list(status["Seats"]),
        held_total=Decimal(status["Total"]) if status["Seats"] else Decimal("0.00"),
    )
