import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from core.errors import InvalidInput
from flights.fares import check_currency, parse_price, parse_zones

# A flight's public code, as every door takes it: the API's flightID, the URL converter of /flights/<code>
# and /book/<code> (orders/inputs.py), and this model, so that the admin cannot make a flight no URL reaches.
FLIGHT_CODE_CHARACTERS = r"[A-Za-z0-9_-]{1,16}"
FLIGHT_CODE_PATTERN = f"^{FLIGHT_CODE_CHARACTERS}$"
FLIGHT_CODE_MESSAGE = "A flight code is 1-16 letters, digits, '-' or '_'."
FLIGHT_CODE_RE = re.compile(rf"\A{FLIGHT_CODE_CHARACTERS}\Z")


class Flight(models.Model):
    """A flight on offer. Its seat map is `rows` x `letters`, with an aisle after each of `aisles_after`;
    `exit_rows` and `wing_rows` orient travellers on the map (flights.layout)."""

    code = models.CharField(
        max_length=16,
        unique=True,
        help_text="Public code, e.g. F-100: 1-16 letters, digits, '-' or '_'.",
        validators=[RegexValidator(rf"\A{FLIGHT_CODE_CHARACTERS}\Z", FLIGHT_CODE_MESSAGE)],
    )
    origin = models.CharField(max_length=64)
    destination = models.CharField(max_length=64)
    departs_at = models.DateTimeField()
    rows = models.PositiveSmallIntegerField()
    letters = models.CharField(max_length=26, help_text="Seat letters of a row, e.g. ABCDEF (any of A-Z).")
    aisles_after = models.CharField(
        max_length=26, blank=True, help_text="Letters followed by an aisle, e.g. C for ABC | DEF."
    )
    # Fares (flights/fares.py): one currency per flight; seats in no zone cost the base fare.
    currency = models.CharField(max_length=3, default="EUR", help_text="ISO 4217 code, e.g. EUR.")
    base_fare = models.DecimalField(
        max_digits=7, decimal_places=2, default=Decimal("100.00"), help_text="Price of a seat in no fare zone."
    )
    fare_zones = models.JSONField(
        default=list,
        blank=True,
        help_text='Cabin zones, e.g. [{"name": "Extra legroom", "rows": [1, 3], "price": "45.00"}]; '
        "whole rows, not overlapping.",
    )
    # Orientation only (the seats do not depend on them, so an operator may change them at any time).
    exit_rows = models.CharField(
        max_length=64, blank=True, help_text="Rows with an emergency exit, comma-separated, e.g. 1,12,13."
    )
    wing_rows = models.CharField(
        max_length=16, blank=True, help_text="The rows beside the wings, first-last, e.g. 10-18 (blank: not shown)."
    )

    class Meta:
        ordering = ["departs_at", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.route}"

    @property
    def route(self) -> str:
        return f"{self.origin} → {self.destination}"

    def clean(self) -> None:
        try:
            check_currency(self.currency or "")
            parse_price(self.base_fare, where="base fare")
            parse_zones(self.fare_zones, rows=self.rows)
        except InvalidInput as exc:
            raise ValidationError(exc.message) from None


class Seat(models.Model):
    """One seat of a flight. On SQLite, seat-changing transactions lock seat rows; on PostgreSQL the
    holds' unique index decides who gets a seat (docs/locking.md)."""

    flight = models.ForeignKey(Flight, on_delete=models.CASCADE, related_name="seats")
    label = models.CharField(max_length=4, help_text="Row number and letter, e.g. 12C.")
    row = models.PositiveSmallIntegerField()
    letter = models.CharField(max_length=1)

    class Meta:
        # Seats are created row by row, so id order is seat-map order: used for sorting and locking.
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["flight", "label"], name="seat_label_unique_per_flight")]

    def __str__(self) -> str:
        return f"{self.flight.code} {self.label}"
