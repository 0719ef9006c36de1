"""The flight endpoints of the HTTP contract (read-only): the flights on offer, a flight's layout, and its
seats by availability."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.openapi import FLIGHT_DETAIL, FLIGHT_LIST, AvailabilitySerializer, errors
from flights.fares import fares_of, money
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
    """One flight with its seat map layout: `rows` rows of `letters`, an aisle after each of `aislesAfter`;
    its fares: the `currency`, the cabin `zones`, and each seat's `zone` and `price` (in seat-map order)."""

    @extend_schema(tags=["flights"], responses={200: FLIGHT_DETAIL, **errors(e404="Unknown flight.")})
    def get(self, request, flight_code: str):
        flight = get_flight(code=flight_code)
        fares = fares_of(flight)
        seats: list[dict[str, str]] = []
        for row in range(1, flight.rows + 1):
            zone, price = fares.zone_of_row(row)
            seats.extend({"label": f"{row}{letter}", "zone": zone, "price": money(price)} for letter in flight.letters)
        return Response(
            {
                **flight_summary(flight),
                "layout": {"rows": flight.rows, "letters": flight.letters, "aislesAfter": flight.aisles_after},
                "total": flight.rows * len(flight.letters),
                "currency": fares.currency,
                "zones": [
                    *(z.as_json() for z in fares.zones),
                    {"name": "Standard", "rows": None, "price": money(fares.base_fare)},
                ],
                "seats": seats,
            }
        )


class AvailableSeatsView(APIView):
    """Which seats are free, held (by a live hold) and booked, each in seat-map order."""

    @extend_schema(tags=["flights"], responses={200: AvailabilitySerializer, **errors(e404="Unknown flight.")})
    def get(self, request, flight_code: str):
        return Response(seat_availability(flight=get_flight(code=flight_code)).as_json())
