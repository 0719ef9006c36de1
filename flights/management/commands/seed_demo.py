import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from flights.models import MAX_SEATS_ABREAST, Airport, Flight
from flights.services import create_flight

# The demo's airports: times on the pages are shown in their zones (flights/times.py).
DEMO_AIRPORTS = [
    {"code": "AMS", "city": "Amsterdam", "name": "Schiphol", "time_zone": "Europe/Amsterdam"},
    {"code": "LIS", "city": "Lisbon", "name": "Humberto Delgado", "time_zone": "Europe/Lisbon"},
    {"code": "TLV", "city": "Tel Aviv", "name": "Ben Gurion", "time_zone": "Asia/Jerusalem"},
    {"code": "ATH", "city": "Athens", "name": "Eleftherios Venizelos", "time_zone": "Europe/Athens"},
    {"code": "BER", "city": "Berlin", "name": "Brandenburg", "time_zone": "Europe/Berlin"},
    {"code": "OSL", "city": "Oslo", "name": "Gardermoen", "time_zone": "Europe/Oslo"},
]

# F-100 is the curl demo's flight; FL-001 is the original system's 5 x ABCDEF grid.
DEMO_FLIGHTS: list[dict[str, Any]] = [
    {
        "code": "F-100",
        "origin": "Amsterdam",
        "destination": "Lisbon",
        "days": 7,
        "minutes": 175,
        "rows": 30,
        "letters": "ABCDEF",
        "aisles_after": "C",
        "currency": "EUR",
        "base_fare": "89.00",
        "fare_zones": [
            {"name": "Front", "rows": [1, 3], "price": "129.00"},
            {"name": "Extra legroom", "rows": [12, 13], "price": "119.00"},
        ],
        "exit_rows": "1,12,13",
        "wing_rows": "10-18",
    },
    {
        "code": "FL-001",
        "origin": "Tel Aviv",
        "destination": "Athens",
        "days": 3,
        "minutes": 130,
        "rows": 5,
        "letters": "ABCDEF",
        "aisles_after": "C",
        "currency": "EUR",
        "base_fare": "79.00",
        "fare_zones": [{"name": "Extra legroom", "rows": [1, 1], "price": "99.00"}],
    },
    {
        "code": "F-200",
        "origin": "Berlin",
        "destination": "Oslo",
        "days": 10,
        "minutes": 110,
        "rows": 20,
        "letters": "ABCD",
        "aisles_after": "B",
        "currency": "NOK",
        "base_fare": "950.00",
        "fare_zones": [{"name": "Front", "rows": [1, 2], "price": "1350.00"}],
        "exit_rows": "1,9",
        "wing_rows": "7-12",
    },
]


class Command(BaseCommand):
    help = "Create the demo flights and their seats (idempotent: existing flights are left as they are)."

    def handle(self, *args, **options):
        for airport in DEMO_AIRPORTS:
            Airport.objects.get_or_create(city=airport["city"], defaults=airport)
        today = timezone.now().replace(hour=9, minute=30, second=0, microsecond=0)
        for spec in DEMO_FLIGHTS:
            if len(spec["letters"]) > MAX_SEATS_ABREAST:  # what the admin accepts, for phones' sake
                raise CommandError(f"{spec['code']}: at most {MAX_SEATS_ABREAST} seats in a row")
            existing = Flight.objects.filter(code=spec["code"]).first()
            if existing:  # a database seeded before the cabin's orientation existed gets it now
                if not (existing.exit_rows or existing.wing_rows) and "exit_rows" in spec:
                    existing.exit_rows, existing.wing_rows = spec["exit_rows"], spec["wing_rows"]
                    existing.save(update_fields=["exit_rows", "wing_rows"])
                continue
            spec = dict(spec)
            departs_at = today + dt.timedelta(days=spec.pop("days"))
            create_flight(
                departs_at=departs_at, arrives_at=departs_at + dt.timedelta(minutes=spec.pop("minutes")), **spec
            )
            self.stdout.write(f"created flight {spec['code']}")
        self.stdout.write(f"{Flight.objects.count()} flights ready")
