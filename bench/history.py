"""The benchmark database's past: what a service that has sold seats for a while has in its tables.

Run by bench.common.prepare_database, on the benchmark database, before any benchmark. Without it every
benchmark started on empty tables, and PostgreSQL planned the hot path's prepared statements for tables
of a few rows: sequential scans, kept for the connection's life while the tables grew by thousands of
rows a second (measured: 35 million hold rows read by sequential scans in one 16-second run of
bench/holds.py, and PostgreSQL's share of a seat change 1.2 -> 3 ms from one run to the next). A
running service has big tables and statistics that PostgreSQL keeps up to date (autoanalyze), so its
plans use the indexes; a fresh deployment has the empty-table plans only until its first autoanalyze
(docs/performance.md).

The past: BENCH_HISTORY_ORDERS expired or cancelled orders (default 20,000) on the seeded flights, each
with three ended holds, three audit rows and three status events; then VACUUM ANALYZE.
"""

import datetime as dt
import os
import random

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seatbooking.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from core.events.eventstream import EventCounter, EventRow  # noqa: E402
from flights.models import Seat  # noqa: E402
from inventory.models import HoldState, SeatHold  # noqa: E402
from orders.models import AuditAction, AuditEntry, Order, OrderState  # noqa: E402

ORDERS = int(os.environ.get("BENCH_HISTORY_ORDERS", 20_000))
BATCH = 5_000


def main() -> None:
    rng = random.Random(20261128)
    seats = list(Seat.objects.values_list("id", "flight_id"))
    start = timezone.now() - dt.timedelta(days=3)
    for first in range(0, ORDERS, BATCH):
        numbers = range(first, min(first + BATCH, ORDERS))
        picks = {n: [rng.choice(seats) for _ in range(3)] for n in numbers}
        at = {n: start + dt.timedelta(seconds=10 * n) for n in numbers}
        Order.objects.bulk_create(
            Order(
                id=f"history-{n}",
                flight_id=picks[n][0][1],
                token_hash="",
                state=OrderState.EXPIRED if n % 4 else OrderState.CANCELLED,
                created_at=at[n],
            )
            for n in numbers
        )
        SeatHold.objects.bulk_create(
            SeatHold(
                order_id=f"history-{n}",
                seat_id=seat_id,
                state=HoldState.EXPIRED if i == 2 else HoldState.RELEASED,
                expires_at=at[n] + dt.timedelta(minutes=15),
                ended_at=at[n] + dt.timedelta(minutes=i),
            )
            for n in numbers
            for i, (seat_id, _flight) in enumerate(picks[n])
        )
        AuditEntry.objects.bulk_create(
            AuditEntry(
                order_id=f"history-{n}",
                action=AuditAction.SELECT_SEATS,
                from_state=OrderState.SEATS_SELECTED,
                to_state=OrderState.SEATS_SELECTED,
                actor="history",
                reason="past sale",
            )
            for n in numbers
            for _ in range(3)
        )
        EventRow.objects.bulk_create(
            EventRow(channel=f"order-history-{n}", type="status" if eid else "", data="{}", eid=eid)
            for n in numbers
            for eid in range(4)  # 0: where a stream starts, as the storage makes it
        )
        EventCounter.objects.bulk_create(EventCounter(name=f"order-history-{n}", value=3) for n in numbers)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


if __name__ == "__main__":
    main()
