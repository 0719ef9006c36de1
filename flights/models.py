import re
import zoneinfo
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
# The widest row the admin (and the seed) accepts: 3-4-3 fits a 360 px phone; the model itself keeps A-Z
# (flights.services.create_flight), which code-made flights (tests, the fuzz run) use.
MAX_SEATS_ABREAST = 10


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a time zone name, e.g. Europe/Amsterdam.")


class Airport(models.Model):
    """An airport flights leave from or go to: its time zone says the local times shown to travellers. A
    flight names its cities as text (the API's origin/destination) and is linked to their airports."""

    code = models.CharField(
        max_length=3,
        unique=True,
        help_text="IATA code, e.g. AMS.",
        validators=[RegexValidator(r"\A[A-Z]{3}\Z", "An IATA code is 3 capital letters, e.g. AMS.")],
    )
    city = models.CharField(
        max_length=64, unique=True, help_text="The city as flights name it (their origin or destination)."
    )
    name = models.CharField(max_length=100, blank=True, help_text="e.g. Schiphol (optional).")
    time_zone = models.CharField(
        max_length=64, validators=[validate_time_zone], help_text="IANA time zone, e.g. Europe/Amsterdam."
    )

    class Meta:
        ordering = ["city"]

    def __str__(self) -> str:
        return f"{self.code} {self.city}"


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
    arrives_at = models.DateTimeField(null=True, blank=True, help_text="Optional; shown in the destination's time.")
    # Where the times are local: none known, times are shown in UTC (and say so).
    origin_airport = models.ForeignKey(
        Airport, null=True, blank=True, on_delete=models.SET_NULL, related_name="departures"
    )
    destination_airport = models.ForeignKey(
        Airport, null=True, blank=True, on_delete=models.SET_NULL, related_name="arrivals"
    )
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
        if len(self.letters) > MAX_SEATS_ABREAST:
            raise ValidationError(
                f"A row has at most {MAX_SEATS_ABREAST} seats (e.g. 3-4-3, ABC DEFG HJK); this one has "
                f"{len(self.letters)}."
            )
        if self.arrives_at and self.departs_at and self.arrives_at <= self.departs_at:
            raise ValidationError({"arrives_at": "The arrival is after the departure."})
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
