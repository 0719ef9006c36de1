"""PostgreSQL: the dashboard's statements can reach the last hour through their indexes, never needing to
read a whole table of holds, attempts or audit entries (which grow with traffic).

What this proves, and what not: sequential scans are priced out (`enable_seqscan = off`), so a plan that
still has one means no index matches the statement's predicate; a plan through the named index means the
index fits the statement as written. It does not show that the planner picks the index on a big table with
real statistics (a test table is small, and reading it whole is rightly cheaper there): the last test does,
on a million rows of history, for every periodic statement (timer loop, metrics snapshot, dashboard)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.selectors import flight_seats
from operations import selectors
from orders import services
from tests.operations.history import load_history

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


# Tables that grow with history: no periodic statement may read one of them whole.
HISTORY_TABLES = (*GROWING, "orders_order", "django_eventstream_event", "flights_seat")


def plans_of(statements: list[str]) -> list[str]:
    """The plans, with PostgreSQL's own costs (real statistics: no scan is priced out), of the statements
    that read tables."""
    plans = []
    with connection.cursor() as cursor:
        for sql in statements:
            if sql and sql.split(None, 1)[0].upper() in ("SELECT", "UPDATE", "DELETE", "INSERT", "WITH"):
                cursor.execute("EXPLAIN " + sql)
                plans.append(sql + "\n" + "\n".join(row[0] for row in cursor.fetchall()))
    return plans


def statements_of(work) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        work()
    return [query["sql"] for query in captured.captured_queries]


def live_work(flight) -> None:
    """What a running service has besides its past: holds lapsing, a payment due, an email due."""
    from orders.models import Order

    orders = []
    for i in range(12):
        order, _ = services.create_order(flight_code=flight.code, actor="test")
        services.select_seats(order_id=order.pk, labels=[f"{i // 6 + 1}{'ABCDEF'[i % 6]}"], actor="test")
        orders.append(order.pk)
    services.submit_payment(order_id=orders[0], code="12345", actor="test")
    past = timezone.now() - dt.timedelta(seconds=1)
    Order.objects.filter(pk__in=orders[1:6]).update(hold_expires_at=past)
    Order.objects.filter(pk=orders[0]).update(payment_due_at=past)
    Order.objects.filter(pk=orders[6]).update(confirmation_due_at=past)


def test_every_periodic_statement_reads_only_live_work_on_a_database_with_history(flight, monkeypatch):
    """Expiry, due payments and emails, the metrics snapshot (in its steady state: its settled totals
    brought up to date once) and the dashboard, on a million rows of history analysed: PostgreSQL's own
    plans read no table of history whole."""
    from operations.dashboard import panels
    from orders import queue, timers
    from orders.metrics import refresh_snapshot

    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)
    monkeypatch.setattr(queue, "enqueue_confirmation", lambda order_id: None)
    load_history()
    live_work(flight)
    refresh_snapshot()  # the first refresh catches up with the past; the ones after read only what is new
    periodic = {
        "tick (expiry, due payments)": timers.tick,
        "emails due": services.enqueue_due_confirmations,
        "metrics snapshot": refresh_snapshot,
        "dashboard": lambda: panels(timezone.now()),
    }
    for name, work in periodic.items():
        statements = statements_of(work)
        assert statements, name
        for plan in plans_of(statements):
            for table in HISTORY_TABLES:
                assert f"Seq Scan on {table}" not in plan, f"{name}:\n{plan}"
