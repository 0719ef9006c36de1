"""PostgreSQL: a retention pass reads what ended since the last pass, not the history it keeps.

20,000 released holds of an order still open (kept: the order has not ended) spread over the last three days,
analysed; the first pass walks them once, and the next pass's statements, as PostgreSQL runs them
(EXPLAIN ANALYZE), read a few rows and no table whole."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import SeatHold
from orders import retention, services

pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]

KEPT_HISTORY = 20_000
ROWS = re.compile(r"actual time=\S+ rows=(\d+)")
REMOVED = re.compile(r"Rows Removed by (?:Filter|Index Recheck): (\d+)")


def add_kept_history(order_id: str, seat_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO orders_seathold (order_id, seat_id, state, expires_at, created_at, ended_at) "
            "SELECT %s, %s, 'RELEASED', NULL, now() - i * interval '5 seconds', now() - i * interval '5 seconds' "
            "FROM generate_series(200, 200 + %s - 1) AS i",
            [order_id, seat_id, KEPT_HISTORY],
        )
        cursor.execute("ANALYZE")


def test_the_next_pass_reads_only_what_ended_since(flight, settings):
    settings.RETENTION_HOLDS_HOURS = 1
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    add_kept_history(order.pk, SeatHold.objects.get(order_id=order.pk).seat_id)
    retention.run_pass()  # the first pass walks the history once (at most 200 slices a pass) ...
    while retention.prune_holds(now=timezone.now()) or not walked_to_the_window():
        pass

    with CaptureQueriesContext(connection) as captured:
        retention.run_pass()  # ... the next reads what ended since
    selects = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert selects
    read = 0
    with connection.cursor() as cursor:
        for sql in selects:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT TEXT) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Seq Scan on orders_seathold" not in plan, f"{sql}\n{plan}"
            read += sum(map(int, ROWS.findall(plan))) + sum(map(int, REMOVED.findall(plan)))
    assert read < 1000, f"{read} rows read by {len(selects)} statements"
    assert SeatHold.objects.filter(order_id=order.pk).count() == KEPT_HISTORY + 1  # all kept


def walked_to_the_window() -> bool:
    from core.models import RetentionCursor

    position = RetentionCursor.objects.get(pk="holds").position
    return (timezone.now() - position).total_seconds() < 3700
