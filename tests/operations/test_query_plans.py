"""PostgreSQL: the dashboard's statements can reach the last hour through their indexes, never needing to
read a whole table of holds, attempts or audit entries (which grow with traffic).

What this proves, and what not: sequential scans are priced out (`enable_seqscan = off`), so a plan that
still has one means no index matches the statement's predicate; a plan through the named index means the
index fits the statement as written. It does not show that the planner picks the index on a big table with
real statistics (a test table is small, and reading it whole is rightly cheaper there)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.selectors import flight_seats
from operations import selectors

pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]
GROWING = ("orders_seathold", "orders_paymentattempt", "orders_auditentry")


def plan_of(select) -> str:
    """The plan of the one statement `select` runs, with sequential scans made as costly as they are on a
    big table (a small test table would otherwise be read whole, rightly)."""
    with CaptureQueriesContext(connection) as captured:
        select(now=timezone.now())
    (query,) = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + query["sql"])
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("select", "indexes"),
    [
        (selectors.holds_per_minute, ["hold_created_at", "hold_ended_at"]),
        (selectors.attempts_per_minute, ["attempt_started_at"]),
        (selectors.expiry_lateness, ["audit_action_created"]),
        (flight_seats, ["one_live_hold_per_seat"]),
    ],
)
def test_each_statement_uses_its_index(select, indexes, flight):
    plan = plan_of(select)
    for index in indexes:
        assert index in plan, plan
    for table in GROWING:
        assert f"Seq Scan on {table}" not in plan, plan
