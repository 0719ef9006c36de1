import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction

from core.errors import InvalidInput
from flights.fares import check_currency, parse_price, parse_zones
from flights.layout import is_seat_label, parse_exit_rows, parse_wing_rows
from flights.models import FLIGHT_CODE_MESSAGE, FLIGHT_CODE_RE, Airport, Flight, Seat


def create_flight(
    *,
    code: str,
    origin: str,
    destination: str,
    departs_at: dt.datetime,
    rows: int,
    letters: str,
    aisles_after: str = "",
    currency: str = "EUR",
    base_fare: Decimal | str = Decimal("100.00"),
    fare_zones: list[dict[str, Any]] | None = None,
    exit_rows: str = "",
    wing_rows: str = "",
    arrives_at: dt.datetime | None = None,
) -> Flight:
    """Create a flight and one Seat row per place of its seat map, row by row (so id order is map order),
    linked to the airports of its cities if they are known (times are then shown in their time zones).
    Any row of A-Z is accepted here (code-made flights); the admin and the seed keep to MAX_SEATS_ABREAST."""
    if not FLIGHT_CODE_RE.fullmatch(code):
        raise InvalidInput(FLIGHT_CODE_MESSAGE, code="invalid_flight_code")
    labels = [f"{row}{letter}" for row in range(1, rows + 1) for letter in letters]
    if not (1 <= rows <= 99) or not letters or len(set(letters)) != len(letters) or not all(map(is_seat_label, labels)):
        raise InvalidInput("A seat map needs 1-99 rows and distinct letters A-Z, e.g. ABCDEF.")
    if not set(aisles_after) <= set(letters):
        raise InvalidInput("aisles_after may only name letters of the row.")
    check_currency(currency)
    parse_zones(fare_zones or [], rows=rows)
    parse_exit_rows(exit_rows, rows=rows)
    parse_wing_rows(wing_rows, rows=rows)
    if arrives_at is not None and arrives_at <= departs_at:
        raise InvalidInput("The arrival is after the departure.")
    airports = {a.city: a for a in Airport.objects.filter(city__in=[origin, destination])}
    with transaction.atomic():
        flight = Flight.objects.create(
            code=code,
            origin=origin,
            destination=destination,
            departs_at=departs_at,
            arrives_at=arrives_at,
            origin_airport=airports.get(origin),
            destination_airport=airports.get(destination),
            rows=rows,
            letters=letters,
            aisles_after=aisles_after,
            currency=currency,
            base_fare=parse_price(base_fare, where="base fare"),
            fare_zones=fare_zones or [],
            exit_rows=exit_rows,
            wing_rows=wing_rows,
        )
        Seat.objects.bulk_create(
            Seat(flight=flight, label=f"{row}{letter}", row=row, letter=letter)
            for row in range(1, rows + 1)
            for letter in letters
        )
    return flight
