"""What the tests of a paid booking share: a flight whose front rows cost more, departing in two days (a
traveller's changes are open), 4 seats a row."""

import datetime as dt

from django.utils import timezone

from flights.models import Flight
from flights.services import create_flight


def two_zone_flight(*, code: str, rows: int = 6, front: tuple[int, int] = (1, 2)) -> Flight:
    """Rows `front` (Front) cost 150.00, the rest 100.00; seats A B, aisle, C D; departs in two days."""
    return create_flight(
        code=code,
        origin="Lisbon",
        destination="Porto",
        departs_at=timezone.now() + dt.timedelta(days=2),
        rows=rows,
        letters="ABCD",
        aisles_after="B",
        base_fare="100.00",
        fare_zones=[{"name": "Front", "rows": list(front), "price": "150.00"}],
    )


def money_until_settled(kind: str, pk: int) -> None:
    """A charge's or a refund's worker task run until nothing is due (each run makes one try; the tests'
    backoff is 0): what enqueueing it does in these in-process tests."""
    from orders import tasks

    for _ in range(10):
        if tasks.process_money(kind, pk) == "nothing due":
            return
