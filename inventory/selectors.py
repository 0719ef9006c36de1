"""Reads about seats: what is free, held and booked, per flight and per holder."""

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from flights.models import Flight, Seat
from inventory.models import LIVE_HOLD_STATES, HoldState, SeatHold, live_at

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations  # django-stubs' companion: a dev dependency, types only


class SeatCounts(TypedDict):
    seats_total: int
    seats_taken: int


# A flight stays on the list of flights on offer until a day after its departure; then only its own URL
# answers. Without a bound the list grew with every flight ever sold (3 s for 859 flights, past the
# statement timeout under load), and with it the home page and GET /flights.
LISTED_AFTER_DEPARTURE = dt.timedelta(days=1)


def flights_with_seats_left(*, now: dt.datetime | None = None) -> "list[WithAnnotations[Flight, SeatCounts]]":
    """The flights on offer (departing, or departed within LISTED_AFTER_DEPARTURE), each annotated with
    `seats_total` and `seats_taken` (two subqueries, one query)."""
    now = now or timezone.now()
    totals = Seat.objects.filter(flight=OuterRef("pk")).values("flight").annotate(n=Count("pk")).values("n")
    taken = (
        SeatHold.objects.live(at=now)
        .filter(seat__flight=OuterRef("pk"))
        .values("seat__flight")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return list(
        Flight.objects.filter(departs_at__gte=now - LISTED_AFTER_DEPARTURE)
        .select_related("origin_airport", "destination_airport")
        .annotate(
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

    def as_json(self) -> dict[str, Any]:
        """The contract's availability object (GET /flights/{id}/available-seats, the stream's first event)."""
        return {
            "flightID": self.flight.code,
            "available": self.available,
            "held": self.held,
            "confirmed": self.confirmed,
            "total": self.total,
        }


def seat_availability(*, flight: Flight, now: dt.datetime | None = None) -> Availability:
    """Every seat of the flight sorted in map order, split by whether a live hold has it (two queries)."""
    now = now or timezone.now()
    hold_state_by_seat = dict(SeatHold.objects.live(at=now).filter(seat__flight=flight).values_list("seat_id", "state"))
    available: list[str] = []
    held: list[str] = []
    confirmed: list[str] = []
    for seat_id, label in Seat.objects.filter(flight=flight).values_list("id", "label"):
        state = hold_state_by_seat.get(seat_id)
        (confirmed if state == HoldState.CONFIRMED else held if state else available).append(label)
    return Availability(flight=flight, available=available, held=held, confirmed=confirmed)


SOONEST_FLIGHTS = 12
DEPARTED_WITHIN = dt.timedelta(hours=1)  # a flight that left an hour ago still shows its final figures


@dataclass(frozen=True)
class FlightSeats:
    code: str
    route: str
    departs_at: dt.datetime
    total: int
    held: int
    booked: int

    @property
    def available(self) -> int:
        return self.total - self.held - self.booked


def _count_per_flight(queryset: QuerySet, flight_path: str) -> Coalesce:
    return Coalesce(Subquery(queryset.values(flight_path).annotate(n=Count("pk")).values("n")), 0)


def flight_seats(*, now: dt.datetime) -> list[FlightSeats]:
    """Seats available, held and booked on the SOONEST_FLIGHTS departing soonest, from DEPARTED_WITHIN ago
    on (what the operators' dashboard and /metrics show): one statement."""
    live = SeatHold.objects.filter(live_at(now), seat__flight=OuterRef("pk"))
    flights = (
        Flight.objects.filter(departs_at__gte=now - DEPARTED_WITHIN)
        .order_by("departs_at", "code")
        .annotate(
            seats_total=_count_per_flight(Seat.objects.filter(flight=OuterRef("pk")), "flight"),
            seats_held=_count_per_flight(live.filter(state=HoldState.HELD), "seat__flight"),
            seats_booked=_count_per_flight(live.filter(state=HoldState.CONFIRMED), "seat__flight"),
        )
        .values_list("code", "origin", "destination", "departs_at", "seats_total", "seats_held", "seats_booked")
    )[:SOONEST_FLIGHTS]
    return [
        FlightSeats(code, f"{origin} → {destination}", departs_at, total, held, booked)
        for code, origin, destination, departs_at, total, held, booked in flights
    ]


def held_seat_labels(*, order_id: str, booked_only: bool = False) -> list[str]:
    """Labels of the seats an order holds or has booked, in seat-map order; `booked_only`: those it has
    booked (a confirmed booking's seats, without the seats a change of them holds meanwhile)."""
    states = [HoldState.CONFIRMED] if booked_only else list(LIVE_HOLD_STATES)
    return list(
        SeatHold.objects.filter(order_id=order_id, state__in=states)
        .order_by("seat_id")
        .values_list("seat__label", flat=True)
    )


def free_seat_labels(*, flight: Flight, holder: str, now: dt.datetime) -> list[str]:
    """Labels of the flight's seats no other holder has live at `now` (the holder's own count as free, so
    that choosing again may keep them), in seat-map order. One statement, no locks: what it misses, the
    change that holds them catches (the unique index, or SQLite's serialised writers)."""
    taken = SeatHold.objects.live(at=now).filter(seat__flight=flight).exclude(order_id=holder).values("seat_id")
    return list(Seat.objects.filter(flight=flight).exclude(pk__in=taken).values_list("label", flat=True))


def unknown_seat_labels(*, flight: Flight, labels: list[str]) -> list[str]:
    """The labels among `labels` that are no seat of the flight."""
    known = set(Seat.objects.filter(flight=flight, label__in=labels).values_list("label", flat=True))
    return sorted(set(labels) - known)
