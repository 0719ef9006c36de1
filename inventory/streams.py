"""GET /flights/{id}/events: the seat map now ("availability"), then each change ("seats")."""

from core.api_errors import json_get_only, service_error_response
from core.errors import ServiceError
from core.events.streams import event_stream, read, stream_response
from flights.selectors import get_flight
from inventory.events import flight_channel
from inventory.selectors import seat_availability


@event_stream
@json_get_only
async def flight_events(request, flight_code: str):
    try:
        flight = await read(lambda: get_flight(code=flight_code))
    except ServiceError as exc:
        return service_error_response(exc)
    return await stream_response(
        request,
        channel=flight_channel(flight.code),
        snapshot=lambda: ("availability", seat_availability(flight=flight).as_json()),
    )
