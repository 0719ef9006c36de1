"""The flight endpoints of the HTTP contract: read-only."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.openapi import FLIGHT_DETAIL, FLIGHT_LIST, AvailabilitySerializer, errors
from flights.models import Flight
from flights.selectors import Availability, flights_with_seats_left, get_flight, seat_availability


def flight_summary(flight: Flight) -> dict:
    return {
        "flightID": flight.code,
        "origin": flight.origin,
        "destination": flight.destination,
        "route": flight.route,
        "departure": flight.departs_at.isoformat().replace("+00:00", "Z"),
    }


class FlightListView(APIView):
    """The flights on offer, with how many seats are left on each."""

    @extend_schema(tags=["flights"], responses={200: FLIGHT_LIST})
    def get(self, request):
        return Response(
            [
                {**flight_summary(f), "seatsLeft": f.seats_total - f.seats_taken, "total": f.seats_total}
                for f in flights_with_seats_left()
            ]
        )


class FlightDetailView(APIView):
    """One flight with its seat map layout: `rows` rows of `letters`, an aisle after each of `aislesAfter`."""

    @extend_schema(tags=["flights"], responses={200: FLIGHT_DETAIL, **errors(e404="Unknown flight.")})
    def get(self, request, flight_code: str):
        flight = get_flight(code=flight_code)
        return Response(
            {
                **flight_summary(flight),
                "layout": {"rows": flight.rows, "letters": flight.letters, "aislesAfter": flight.aisles_after},
                "total": flight.rows * len(flight.letters),
            }
        )


class AvailableSeatsView(APIView):
    """Which seats are free, held (by a live hold) and booked, each in seat-map order."""

    @extend_schema(tags=["flights"], responses={200: AvailabilitySerializer, **errors(e404="Unknown flight.")})
    def get(self, request, flight_code: str):
        return Response(availability_body(seat_availability(flight=get_flight(code=flight_code))))


def availability_body(a: Availability) -> dict:
    return {
        "flightID": a.flight.code,
        "available": a.available,
        "held": a.held,
        "confirmed": a.confirmed,
        "total": a.total,
    }
