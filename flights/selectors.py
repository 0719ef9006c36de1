"""Reads about flights and their seats. A seat is taken while it has a live hold (see orders.models.SeatHold)."""

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.errors import NotFound
from flights.models import Flight, Seat
from orders.models import HoldState, SeatHold

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations  # django-stubs' companion: a dev dependency, types only


def live_hold_q(now: dt.datetime, prefix: str = "") -> Q:
    """Holds that still count at `now`: booked, held without deadline (payment running), or not yet lapsed."""
    p = prefix
    return Q(**{f"{p}state": HoldState.CONFIRMED}) | Q(
        Q(**{f"{p}expires_at__isnull": True}) | Q(**{f"{p}expires_at__gt": now}),
        **{f"{p}state": HoldState.HELD},
    )


def get_flight(*, code: str) -> Flight:
    try:
        return Flight.objects.get(code=code)
    except Flight.DoesNotExist:
        raise NotFound(
            f"There is no flight {code!r}. GET /flights lists the flights on offer.", code="unknown_flight"
        ) from None


class SeatCounts(TypedDict):
    seats_total: int
    seats_taken: int


def flights_with_seats_left(*, now: dt.datetime | None = None) -> "list[WithAnnotations[Flight, SeatCounts]]":
    """All flights, each annotated with `seats_total` and `seats_taken` (two subqueries, one query)."""
    now = now or timezone.now()
    totals = Seat.objects.filter(flight=OuterRef("pk")).values("flight").annotate(n=Count("pk")).values("n")
    taken = (
        SeatHold.objects.filter(live_hold_q(now), seat__flight=OuterRef("pk"))
        .values("seat__flight")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return list(
        Flight.objects.annotate(
            seats_total=Coalesce(Subquery(totals), 0),
            seats_taken=Coalesce(Subquery(taken), 0),
        )
    )


@dataclass(frozen=True)
class Availability:
    flight: Flight
    available: list[str]
    held: list[str]
    confirmed: list[str]

    @property
    def total(self) -> int:
        return len(self.available) + len(self.held) + len(self.confirmed)


def seat_availability(*, flight: Flight, now: dt.datetime | None = None) -> Availability:
    """Every seat of the flight sorted in map order, split by whether a live hold has it (two queries)."""
    now = now or timezone.now()
    hold_state_by_seat = dict(
        SeatHold.objects.filter(live_hold_q(now), seat__flight=flight).values_list("seat_id", "state")
    )
    available: list[str] = []
    held: list[str] = []
    confirmed: list[str] = []
    for seat_id, label in Seat.objects.filter(flight=flight).values_list("id", "label"):
        state = hold_state_by_seat.get(seat_id)
        (confirmed if state == HoldState.CONFIRMED else held if state else available).append(label)
    return Availability(flight=flight, available=available, held=held, confirmed=confirmed)
