"""The flight endpoints of the HTTP contract (read-only): the flights on offer, a flight's layout, and its
seats by availability."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.openapi import FLIGHT_DETAIL, FLIGHT_LIST, AvailabilitySerializer, errors
from flights.selectors import flight_summary, get_flight
from inventory.selectors import flights_with_seats_left, seat_availability


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
        return Response(seat_availability(flight=get_flight(code=flight_code)).as_json())
