"""Fares: a flight's cabin zones, each a band of rows with one price per seat, in the flight's currency.

The zones live in the flight's layout data (`Flight.fare_zones`, edited in the admin), so a seat's price
is computed from the flight row alone: a seat map, a status object or a seat change that has the flight
in hand prices its seats without another statement. Seats in no zone are the "Standard" zone at
`Flight.base_fare`. Money is `Decimal`, two places, shown as a string ("45.00").
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any, Protocol

from core.errors import InvalidInput

STANDARD_ZONE = "Standard"
CENTS = Decimal("0.01")
MAX_PRICE = Decimal("99999.99")
# The currencies a flight may be priced in: ISO 4217 codes whose minor unit is the cent (2 decimals), as
# `money` prints every amount; JPY (0) or KWD (3) would need more than this list.
CURRENCIES = ("AUD", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "ILS", "NOK", "PLN", "SEK", "USD")
ZONE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 +&/-]{0,31}$")
LABEL_ROW_RE = re.compile(r"^([0-9]+)")


@dataclass(frozen=True)
class FareZone:
    name: str
    first_row: int
    last_row: int
    price: Decimal

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "rows": [self.first_row, self.last_row], "price": money(self.price)}


def money(amount: Decimal) -> str:
    """An amount as the API shows it: a string with two decimal places."""
    return str(amount.quantize(CENTS))


def check_currency(currency: str) -> str:
    if currency not in CURRENCIES:
        raise InvalidInput(
            f"The currency is one of {', '.join(CURRENCIES)} (ISO 4217, priced in cents), not {currency!r}.",
            code="invalid_currency",
        )
    return currency


def parse_price(value: Any, *, where: str) -> Decimal:
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{where}: the price {value!r} is not a number like 45.00.", code="invalid_fares") from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE or price != price.quantize(CENTS):
        raise InvalidInput(
            f"{where}: a price is 0.00-{MAX_PRICE} with at most two decimal places, not {value!r}.",
            code="invalid_fares",
        )
    return price.quantize(CENTS)


def parse_zones(raw: Any, *, rows: int) -> list[FareZone]:
    """Check layout data such as `[{"name": "Extra legroom", "rows": [1, 3], "price": "45.00"}]`: named
    zones of whole rows within the seat map, not overlapping. Raises InvalidInput saying what is wrong."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise InvalidInput("Fare zones are a list of {name, rows: [first, last], price}.", code="invalid_fares")
    zones: list[FareZone] = []
    for n, item in enumerate(raw, 1):
        where = f"fare zone {n}"
        if not isinstance(item, dict) or set(item) != {"name", "rows", "price"}:
            raise InvalidInput(f"{where}: give exactly name, rows ([first, last]) and price.", code="invalid_fares")
        name, span = item["name"], item["rows"]
        if not isinstance(name, str) or not ZONE_NAME_RE.fullmatch(name) or name == STANDARD_ZONE:
            raise InvalidInput(
                f"{where}: a zone name is 1-32 letters, digits, spaces or + & / - (and not {STANDARD_ZONE!r}, "
                "the name of the seats in no zone).",
                code="invalid_fares",
            )
        if (
            not isinstance(span, list)
            or len(span) != 2
            or not all(isinstance(r, int) and not isinstance(r, bool) for r in span)
            or not 1 <= span[0] <= span[1] <= rows
        ):
            raise InvalidInput(f"{where}: rows is [first, last] within rows 1-{rows}.", code="invalid_fares")
        zones.append(FareZone(name, span[0], span[1], parse_price(item["price"], where=where)))
    _check_disjoint(zones)
    return zones


def _check_disjoint(zones: list[FareZone]) -> None:
    names = [z.name for z in zones]
    if len(set(names)) != len(names):
        raise InvalidInput("Each fare zone needs a name of its own.", code="invalid_fares")
    spans = sorted((z.first_row, z.last_row, z.name) for z in zones)
    for (_a, last, name), (first, _b, other) in pairwise(spans):
        if first <= last:
            raise InvalidInput(f"Fare zones {name!r} and {other!r} share rows.", code="invalid_fares")


@dataclass(frozen=True)
class Fares:
    """A flight's prices: its zones, the standard fare and the currency."""

    zones: list[FareZone]
    base_fare: Decimal
    currency: str
    rows: int = 99  # the seat map's

    def zone_of_row(self, row: int) -> tuple[str, Decimal]:
        for zone in self.zones:
            if zone.first_row <= row <= zone.last_row:
                return zone.name, zone.price
        return STANDARD_ZONE, self.base_fare

    def price(self, label: str) -> Decimal:
        match = LABEL_ROW_RE.match(label)
        assert match is not None  # labels are the seat map's own (row number, then letter)
        return self.zone_of_row(int(match.group(1)))[1]

    def total(self, labels: Iterable[str]) -> Decimal:
        return sum((self.price(label) for label in labels), Decimal("0.00")).quantize(CENTS)

    def freeze(self, labels: Iterable[str], *, earlier: dict[str, Any], currency: str) -> dict[str, Any]:
        """Each seat's zone and price for an order's `seat_prices`: as `earlier` froze them (in `currency`)
        for seats kept, today's for seats new to it; all today's if the flight's currency changed."""
        kept = earlier if currency in ("", self.currency) else {}
        frozen = {}
        for label in labels:
            row = LABEL_ROW_RE.match(label)
            if label in kept:
                frozen[label] = kept[label]
            elif row:  # (a label that is no seat's is refused by the hold)
                zone, price = self.zone_of_row(int(row.group(1)))
                frozen[label] = {"zone": zone, "price": money(price)}
        return frozen

    def frozen_total(self, labels: Iterable[str], frozen: dict[str, Any]) -> Decimal:
        """The sum of the seats' frozen prices (today's for a seat without one: held before prices were frozen)."""
        return sum(
            (Decimal(frozen[label]["price"]) if label in frozen else self.price(label) for label in labels),
            Decimal("0.00"),
        ).quantize(CENTS)

    def zone_names(self) -> list[str]:
        """The zones' names, and the standard zone's if some row is in no named zone."""
        standard = any(self.zone_of_row(r)[0] == STANDARD_ZONE for r in range(1, self.rows + 1))
        return [z.name for z in self.zones] + ([STANDARD_ZONE] if standard else [])

    def zone_named(self, name: str) -> str | None:
        """The zone called `name`, in any case ("front" is "Front"); None if the flight has none."""
        return next((z for z in self.zone_names() if z.casefold() == name.strip().casefold()), None)

    def rows_of_zone(self, name: str) -> set[int] | None:
        """The rows of zone `name` (None: no such zone; the standard zone's rows are those of no other)."""
        if name not in self.zone_names():
            return None
        return {r for r in range(1, self.rows + 1) if self.zone_of_row(r)[0] == name}


class PricedFlight(Protocol):
    """What `fares_of` reads of a flight: flights.models.Flight, which imports this module's parsers."""

    @property
    def fare_zones(self) -> Any: ...
    @property
    def rows(self) -> int: ...
    @property
    def base_fare(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...


def fares_of(flight: PricedFlight) -> Fares:
    """The flight's fares from its own row (no statement). Stored zones were checked when saved."""
    return Fares(
        zones=parse_zones(flight.fare_zones, rows=flight.rows),
        base_fare=Decimal(flight.base_fare).quantize(CENTS),
        currency=flight.currency,
        rows=flight.rows,
    )
