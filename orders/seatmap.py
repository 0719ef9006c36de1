"""The booking page's seat map: rows of places with their state, their position in the cabin, their fare
and the name a screen reader says. `place_name` is the one place that describes a seat; the page's script
adds the state's words (orders.wording.SEAT_WORDS) to it as the state changes."""

from typing import Any

from django.utils.translation import gettext as _

from core.money import amount_words
from flights.fares import STANDARD_ZONE, Fares, fares_of
from flights.layout import cabin
from flights.models import Flight
from orders.selectors import OrderStatus
from orders.wording import POSITION_WORDS, SEAT_WORDS, zone_name


def place_name(*, row: int, letter: str, position: str, exit_row: bool, over_wing: bool, fare: str) -> str:
    """'Row 12, seat A, window, exit row, Extra legroom 119.00 EUR': everything about a seat but its state."""
    words = [_("Row %(row)s") % {"row": row}, _("seat %(letter)s") % {"letter": letter}, str(POSITION_WORDS[position])]
    if exit_row:
        words.append(_("exit row"))
    if over_wing:
        words.append(_("by the wing"))
    words.append(fare)
    return ", ".join(words)


def fare_words(fares: Fares, row: int) -> tuple[str, str]:
    """(zone, 'Extra legroom 119.00 EUR') for a seat of `row`."""
    zone, price = fares.zone_of_row(row)
    return zone, f"{zone_name(zone)} {amount_words(price, fares.currency)}"


def seat_state(label: str, *, status: OrderStatus, held: set[str], confirmed: set[str]) -> str:
    if label in status["Seats"]:
        return "mine-booked" if status["State"] == "CONFIRMED" else "mine"
    if label in confirmed:
        return "booked"
    if label in held:
        return "held"
    return "available"


def seat_rows(flight: Flight, *, status: OrderStatus, availability: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per row: its number, whether it is an exit row or beside the wings, its fare (`zone_line`
    on the first row of each band of one zone, shown above it) and its places in order, None standing
    for an aisle."""
    layout, fares = cabin(flight), fares_of(flight)
    held, confirmed = set(availability["held"]), set(availability["confirmed"])
    rows, previous_zone = [], None
    for row in range(1, flight.rows + 1):
        exit_row, wing = row in layout["exit_rows"], row in layout["wing_rows"]
        zone, fare = fare_words(fares, row)
        places: list[dict[str, str] | None] = []
        for letter in flight.letters:
            label, position = f"{row}{letter}", layout["positions"][letter]
            state = seat_state(label, status=status, held=held, confirmed=confirmed)
            place = place_name(
                row=row,
                letter=letter,
                position=position,
                exit_row=exit_row,
                over_wing=wing and position == "window",
                fare=fare,
            )
            places.append({"label": label, "state": state, "place": place, "name": f"{place}, {SEAT_WORDS[state]}"})
            if letter in flight.aisles_after:
                places.append(None)
        zone_line = fare if zone != previous_zone else None
        rows.append({"number": row, "exit": exit_row, "wing": wing, "places": places, "zone_line": zone_line})
        previous_zone = zone
    return rows


def fare_list(flight: Flight) -> list[dict[str, str]]:
    """The flight's zones for the legend and the "Find N seats together" form: name, label (the name in the
    page's language), rows, price."""
    fares = fares_of(flight)
    zones = [
        {
            "name": z.name,  # the form's value: the zone as the flight names it
            "label": zone_name(z.name),
            "rows": _("rows %(first)s-%(last)s") % {"first": z.first_row, "last": z.last_row}
            if z.first_row != z.last_row
            else _("row %(row)s") % {"row": z.first_row},
            "price": amount_words(z.price, fares.currency),
        }
        for z in fares.zones
    ]
    if all(fares.zone_of_row(row)[0] != STANDARD_ZONE for row in range(1, flight.rows + 1)):
        return zones
    others = _("other rows") if zones else _("all rows")
    standard = {
        "name": STANDARD_ZONE,
        "label": zone_name(STANDARD_ZONE),
        "rows": others,
        "price": amount_words(fares.base_fare, fares.currency),
    }
    return [*zones, standard]


def letter_header(flight: Flight) -> list[str | None]:
    """The column letters above the map, None over an aisle."""
    header: list[str | None] = []
    for letter in flight.letters:
        header.append(letter)
        if letter in flight.aisles_after:
            header.append(None)
    return header
