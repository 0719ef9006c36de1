"""A flight's cabin as travellers see it: where each seat is (window, middle, aisle), the exit rows and
the rows beside the wings. The seats themselves are `rows` x `letters` (flights.services.create_flight)."""

import re

from core.errors import InvalidInput
from flights.models import Flight

# A seat's label: its row (1-99, as flights.services.create_flight allows) and its letter (A-Z), e.g. 12C.
# The one definition: the API's schema states it (OpenAPI `pattern`), every door checks a label with
# SEAT_LABEL_RE.fullmatch (is_seat_label), so a label no seat map can have never reaches a query.
SEAT_LABEL_PATTERN = r"^[1-9][0-9]?[A-Z]$"
SEAT_LABEL_RE = re.compile(SEAT_LABEL_PATTERN)


def is_seat_label(value: object) -> bool:
    """Whether `value` is a string shaped like a seat label (the flight may still have no such seat)."""
    return isinstance(value, str) and SEAT_LABEL_RE.fullmatch(value) is not None


def check_seat_labels(values: list[object]) -> None:
    """Refuse (InvalidInput) a list with any value not shaped like a seat label, naming a few of them."""
    bad = [value for value in values if not is_seat_label(value)]
    if bad:
        shown = ", ".join(repr(value)[:16] for value in bad[:5]) + (", ..." if len(bad) > 5 else "")
        raise InvalidInput(
            f"Seat labels are a row number and a capital letter, like 12C; not {shown}.", code="invalid_seat_label"
        )


EXIT_ROWS = re.compile(r"^\s*(\d{1,2}\s*(,\s*\d{1,2}\s*)*)?$")
WING_ROWS = re.compile(r"^\s*((\d{1,2})\s*-\s*(\d{1,2}))?\s*$")


def parse_exit_rows(text: str, *, rows: int) -> list[int]:
    if not EXIT_ROWS.match(text):
        raise InvalidInput("Exit rows are row numbers separated by commas, e.g. 1,12,13.", code="bad_exit_rows")
    numbers = sorted({int(n) for n in re.findall(r"\d+", text)})
    if any(not 1 <= n <= rows for n in numbers):
        raise InvalidInput(f"Exit rows must be between 1 and {rows}, the flight's last row.", code="bad_exit_rows")
    return numbers


def parse_wing_rows(text: str, *, rows: int) -> range:
    found = WING_ROWS.match(text)
    if not found:
        raise InvalidInput("Wing rows are a first and a last row, e.g. 10-18.", code="bad_wing_rows")
    if not found.group(1):
        return range(0)
    first, last = int(found.group(2)), int(found.group(3))
    if not 1 <= first <= last <= rows:
        raise InvalidInput(
            f"Wing rows run from a first to a last row within 1-{rows}, e.g. 10-18.", code="bad_wing_rows"
        )
    return range(first, last + 1)


def seat_positions(letters: str, aisles_after: str) -> dict[str, str]:
    """Each letter's place in the row: the ends are windows, a letter beside an aisle is an aisle seat."""
    positions = {}
    for index, letter in enumerate(letters):
        beside_aisle = letter in aisles_after or (index > 0 and letters[index - 1] in aisles_after)
        if index in (0, len(letters) - 1):
            positions[letter] = "window"
        elif beside_aisle:
            positions[letter] = "aisle"
        else:
            positions[letter] = "middle"
    return positions


def cabin(flight: Flight) -> dict:
    """The orientation data of the seat map page: exit rows, wing rows and each letter's position."""
    return {
        "exit_rows": set(parse_exit_rows(flight.exit_rows, rows=flight.rows)),
        "wing_rows": set(parse_wing_rows(flight.wing_rows, rows=flight.rows)),
        "positions": seat_positions(flight.letters, flight.aisles_after),
    }
