"""Reads about flights."""

from typing import Any

from core.errors import NotFound
from flights.models import Flight


def get_flight(*, code: str) -> Flight:
    try:
        return Flight.objects.select_related("origin_airport", "destination_airport").get(code=code)
    except Flight.DoesNotExist:
        raise NotFound(
            f"There is no flight {code!r}. GET /flights lists the flights on offer.", code="unknown_flight"
        ) from None


def flight_summary(flight: Flight) -> dict[str, Any]:
    """A flight as the contract lists it (GET /flights, GET /flights/{id})."""
    return {
        "flightID": flight.code,
        "origin": flight.origin,
        "destination": flight.destination,
        "route": flight.route,
        "departure": flight.departs_at.isoformat().replace("+00:00", "Z"),
    }
