"""GET /flights/{id}/events: the seat map now ("availability"), then each change ("seats")."""

from asgiref.sync import sync_to_async

from flights.api import availability_body
from flights.selectors import get_flight, seat_availability
from orders.events import flight_channel
from seatbooking.api_errors import json_get_only, service_error_response
from seatbooking.errors import ServiceError
from seatbooking.eventbus import release_connection, stream_response


@json_get_only
async def flight_events(request, flight_code: str):
    def find():
        try:
            return get_flight(code=flight_code)
        finally:
            release_connection()

    try:
        flight = await sync_to_async(find)()
    except ServiceError as exc:
        return service_error_response(exc)
    return await stream_response(
        request,
        channel=flight_channel(flight.code),
        snapshot=lambda: ("availability", availability_body(seat_availability(flight=flight))),
    )
