import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from flights.models import Flight
from flights.services import create_flight

# F-100 is the curl demo's flight; FL-001 is the original system's 5 x ABCDEF grid.
DEMO_FLIGHTS: list[dict[str, Any]] = [
    {
        "code": "F-100",
        "origin": "Amsterdam",
        "destination": "Lisbon",
        "days": 7,
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
        today = timezone.now().replace(hour=9, minute=30, second=0, microsecond=0)
        for spec in DEMO_FLIGHTS:
            existing = Flight.objects.filter(code=spec["code"]).first()
            if existing:  # a database seeded before the cabin's orientation existed gets it now
                if not (existing.exit_rows or existing.wing_rows) and "exit_rows" in spec:
                    existing.exit_rows, existing.wing_rows = spec["exit_rows"], spec["wing_rows"]
                    existing.save(update_fields=["exit_rows", "wing_rows"])
                continue
            spec = dict(spec)
            days = spec.pop("days")
            create_flight(departs_at=today + dt.timedelta(days=days), **spec)
            self.stdout.write(f"created flight {spec['code']}")
        self.stdout.write(f"{Flight.objects.count()} flights ready")
