"""The input contract of every change: what each value of a request may be, whichever door it came through.

A change reaches the services through three doors: the JSON API (DRF's serializers in orders/api.py and
orders/booking_api.py), the lean path of the hot calls (orders/hot_path.py), and the pages' forms, posted
with or without JavaScript (orders/views.py, orders/booking_pages.py). Each door calls this module, so a
value is refused the same way wherever it came from: InvalidInput, a 400 whose message says what to send.
Types, patterns and lengths are checked before anything is looked up, so NUL bytes (which PostgreSQL
refuses in text), non-ASCII look-alikes and over-long values never reach a query. What depends on the
data (an unknown or taken seat, the seat limit, a zone the flight has not) is the services' to say.

Ids in paths are checked by the URL converters below, built from the same patterns: an id that cannot
exist is a 404 before any query runs.
"""

import re
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from core.errors import InvalidInput
from flights.layout import SEAT_LABEL_PATTERN, check_seat_labels, is_seat_label
from flights.models import FLIGHT_CODE_CHARACTERS, FLIGHT_CODE_MESSAGE, FLIGHT_CODE_PATTERN, FLIGHT_CODE_RE
from orders.lookup import normal_reference
from orders.services.passengers import clean_email, clean_name
from orders.services.payments import PAYMENT_CODE_MESSAGE, PAYMENT_CODE_PATTERN, check_payment_code
from orders.services.reference import REFERENCE_ALPHABET, REFERENCE_LENGTH

# Defined beside the models and services they belong to, named here for the doors.
__all__ = ["FLIGHT_CODE_PATTERN", "PAYMENT_CODE_MESSAGE", "PAYMENT_CODE_PATTERN", "SEAT_LABEL_PATTERN"]

# Order ids: the server's (o- and 22 characters, orders.services.new_order_id) or the client's own orderID.
ORDER_ID_CHARACTERS = r"[A-Za-z0-9_-]{1,64}"
ORDER_ID_PATTERN = f"^{ORDER_ID_CHARACTERS}$"
ORDER_ID_MESSAGE = "Use 1-64 letters, digits, '-' or '_'."
SEAT_LABEL_MESSAGE = "A seat label is a row number and a capital letter, like 12C."
ZONE_MAX_LENGTH = 32
# A booking reference as stored, and as the API takes it (the schema's pattern): any case, spaces anywhere.
REFERENCE_PATTERN = f"^[{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}}$"
REFERENCE_INPUT_PATTERN = f"^ *(?:[{REFERENCE_ALPHABET}{REFERENCE_ALPHABET.lower()}] *){{{REFERENCE_LENGTH}}}$"
REFERENCE_FIELD_MAX = 32  # as typed, spaces included; normalised, it is REFERENCE_LENGTH
REFERENCE_MESSAGE = (
    f"A booking reference is {REFERENCE_LENGTH} capital letters and digits (no 0, O, 1, I or L), "
    "e.g. K7MX3Q, as in the confirmation email."
)

_ORDER_ID_RE = re.compile(ORDER_ID_CHARACTERS)
_REFERENCE_RE = re.compile(REFERENCE_PATTERN)
_SEAT_COUNT_RE = re.compile("[0-9]{1,2}")  # the services say which counts are allowed (1-MAX_SEATS_PER_ORDER)


def valid_order_id(value: object) -> str:
    if not isinstance(value, str) or not _ORDER_ID_RE.fullmatch(value):
        raise InvalidInput(ORDER_ID_MESSAGE, code="invalid_order_id")
    return value


def valid_flight_code(value: object) -> str:
    if not isinstance(value, str) or not FLIGHT_CODE_RE.fullmatch(value):
        raise InvalidInput(FLIGHT_CODE_MESSAGE, code="invalid_flight_code")
    return value


def valid_seat_label(value: object) -> str:
    if not is_seat_label(value):
        raise InvalidInput(SEAT_LABEL_MESSAGE, code="invalid_seat_label")
    assert isinstance(value, str)
    return value


def valid_seat_labels(value: object) -> list[str]:
    """A selection: a list of labels shaped like seat labels (the service checks the limit and repeats)."""
    if not isinstance(value, list):
        raise InvalidInput('Send the seats as a list of labels, e.g. ["12C"].', code="invalid_seat_label")
    check_seat_labels(value)
    return list(value)


def valid_seat_count(value: object) -> int:
    """How many seats the server should choose: a number (at most two digits; the service checks the range)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _SEAT_COUNT_RE.fullmatch(value):
        return int(value)
    raise InvalidInput(
        f"Say how many seats you want together, 1-{settings.MAX_SEATS_PER_ORDER}.", code="invalid_seat_count"
    )


def valid_zone(value: object) -> str | None:
    """A cabin zone's name, or None for any zone (the service says which names the flight has)."""
    if value is None or value == "":
        return None
    # Any text (the schema's): it is only compared with the flight's zone names, never sent to a query.
    if not isinstance(value, str) or len(value) > ZONE_MAX_LENGTH:
        raise InvalidInput(
            f"A cabin zone is a name of at most {ZONE_MAX_LENGTH} characters, as the flight lists them.",
            code="invalid_zone",
        )
    return value


def valid_payment_code(value: object) -> str:
    """Exactly 5 ASCII digits; a refusal uses no payment attempt."""
    return check_payment_code(value)


def valid_reference(value: object) -> str:
    """A reference as a person types it (any case, spaces anywhere), as it is stored."""
    if not isinstance(value, str) or len(value) > REFERENCE_FIELD_MAX:
        raise InvalidInput(REFERENCE_MESSAGE, code="invalid_reference")
    reference = normal_reference(value)
    if not _REFERENCE_RE.fullmatch(reference):
        raise InvalidInput(REFERENCE_MESSAGE, code="invalid_reference")
    return reference


# --- One change ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewOrder:
    flight_code: str
    order_id: str | None  # None: the server makes one


def new_order(*, flight_code: object, order_id: object = None) -> NewOrder:
    return NewOrder(valid_flight_code(flight_code), valid_order_id(order_id) if order_id else None)


def seat_choice(*, seats: object) -> list[str]:
    """The whole selection ([] releases every seat)."""
    return valid_seat_labels(seats)


@dataclass(frozen=True)
class BestSeats:
    count: int
    zone: str | None


def best_seats(*, count: object, zone: object = None) -> BestSeats:
    return BestSeats(valid_seat_count(count), valid_zone(zone))


@dataclass(frozen=True)
class Passengers:
    passengers: list[dict[str, str]]
    email: str


def passengers(*, given: object, email: object) -> Passengers:
    """A name for each held seat and the contact email; messages name the field (passengers[1].lastName)."""
    if not isinstance(given, list) or not given:
        raise InvalidInput("passengers: name a passenger for each held seat.", code="invalid_passengers")
    if len(given) > settings.MAX_SEATS_PER_ORDER:
        raise InvalidInput(
            f"passengers: at most {settings.MAX_SEATS_PER_ORDER}, one for each held seat.", code="invalid_passengers"
        )
    cleaned = []
    for n, passenger in enumerate(given):
        if not isinstance(passenger, dict):
            raise InvalidInput(f"passengers[{n}]: give its seat, firstName and lastName.", code="invalid_passengers")
        try:
            seat = valid_seat_label(passenger.get("seat"))
        except InvalidInput as exc:
            raise InvalidInput(f"passengers[{n}].seat: {exc.message}", code=exc.code) from None
        cleaned.append(
            {
                "seat": seat,
                "firstName": clean_name(passenger.get("firstName"), field=f"passengers[{n}].firstName"),
                "lastName": clean_name(passenger.get("lastName"), field=f"passengers[{n}].lastName"),
            }
        )
    return Passengers(cleaned, clean_email(email))


def payment(*, code: object) -> str:
    return valid_payment_code(code)


@dataclass(frozen=True)
class BookingLookup:
    reference: str
    last_name: str


def booking_lookup(*, reference: object, last_name: object) -> BookingLookup:
    return BookingLookup(valid_reference(reference), clean_name(last_name, field="lastName"))


# --- Forms ---------------------------------------------------------------------------------------------


class Form(Protocol):
    """What is read of a posted form (Django's QueryDict)."""

    def getlist(self, key: str) -> list[str]: ...


def form_value(form: Form, name: str) -> str:
    """A field a form sends once: the same field twice is refused rather than one of them picked."""
    values = form.getlist(name)
    if len(values) > 1:
        raise InvalidInput(f"The form sent {name!r} {len(values)} times; reload the page and try again.")
    return values[0] if values else ""


# --- Ids in paths (django.urls.register_converter, seatbooking/urls.py) ---------------------------------------


class OrderIdConverter:
    regex = ORDER_ID_CHARACTERS

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class FlightCodeConverter(OrderIdConverter):
    regex = FLIGHT_CODE_CHARACTERS
