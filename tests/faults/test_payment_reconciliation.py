"""A payment whose answer is lost is never charged twice and uses no attempt: the gateway is asked what
became of it (its status query, by the attempt's idempotency key) before anything else happens.

Real processes (web, a django-q2 worker, the timer loop) on a PostgreSQL of the test's own, which the
test restarts, and the simulated gateway's ledger (a file of its own, outside that database) to count the
charges. Each attempt waits 1.5-4.5 s for the gateway, which decides halfway; an attempt counts as lost
after PAYMENT_TIMEOUT_SECONDS + PAYMENT_LOST_MARGIN_SECONDS = 6 s.
"""

import time

import pytest

from orders.gateway_ledger_sql import Ledger
from tests.faults.postgres_server import PostgresServer
from tests.http import call, free_port, wait_for_server
from tests.processes import Processes, wait_until

# django_db: only for the suite's own database fixtures; these processes use the test's own PostgreSQL.
pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db]

FLIGHT = "F-100"  # seeded by own_postgres


@pytest.fixture
def service(own_postgres: PostgresServer, tmp_path):
    processes = Processes(tmp_path)
    processes.env.update(
        DATABASE_URL=own_postgres.url,
        REDIS_URL="",
        PAYMENT_LATENCY_SECONDS="3",
        PAYMENT_FAILURE_RATE="0",
        PAYMENT_TIMEOUT_SECONDS="5",
        PAYMENT_LOST_MARGIN_SECONDS="1",
        PAYMENT_GATEWAY_LEDGER=str(tmp_path / "gateway-ledger.sqlite3"),
        Q_WORKERS="1",
    )
    port = free_port()
    processes.start_web(port)
    base = f"http://127.0.0.1:{port}"
    wait_for_server(base)
    worker = processes.start("run_worker")
    processes.start("run_timers")
    yield processes, base, worker, Ledger(processes.env["PAYMENT_GATEWAY_LEDGER"])
    processes.kill_all()
    print(processes.logs())  # pytest shows it only when the test failed


def pay(base: str) -> tuple[str, str]:
    """An order holding seat 1A, its payment submitted; its id and token."""
    status, created = call(base, "POST", "/orders", {"flightID": FLIGHT})
    assert status == 201, created
    order_id, token = created["orderID"], created["token"]
    status, body = call(base, "POST", f"/orders/{order_id}/seats", {"seats": ["1A"]}, token)
    assert status == 200, body
    status, body = call(base, "POST", f"/orders/{order_id}/payment", {"code": "12345"}, token)
    assert status == 202, body
    return order_id, token


def settled_status(base: str, order_id: str, token: str, timeout: float) -> dict:
    """The order's status once it has left PROCESSING_PAYMENT (a 503 while the database is away is retried)."""

    def settled() -> dict | None:
        try:
            status, body = call(base, "GET", f"/orders/{order_id}/status", token=token)
        except OSError:
            return None
        return body if status == 200 and body["State"] != "PROCESSING_PAYMENT" else None

    return wait_until(settled, timeout=timeout, interval=0.1, what="the payment to settle")


def attempt_started(own_postgres: PostgresServer, order_id: str) -> bool:
    with own_postgres.connect() as conn:
        row = conn.execute("SELECT count(*) FROM orders_paymentattempt WHERE order_id = %s", [order_id]).fetchone()
    return bool(row and row[0])


def attempts(own_postgres: PostgresServer, order_id: str) -> list[tuple[int, str]]:
    with own_postgres.connect() as conn:
        return conn.execute(
            "SELECT number, outcome FROM orders_paymentattempt WHERE order_id = %s ORDER BY number", [order_id]
        ).fetchall()


@pytest.mark.parametrize("outage", [0, 6], ids=["restart", "down-past-the-margin"])
def test_a_database_restart_while_an_attempt_waits_for_the_gateway_charges_once_and_uses_no_attempt(
    service, own_postgres: PostgresServer, outage: float
):
    """A fast restart: the worker records the answer on a fresh connection. Down for 6 s: the answer
    (1.5-4.5 s) cannot be recorded within the 1 s margin and is lost; the gateway's status query finds it."""
    _processes, base, _worker, ledger = service
    order_id, token = pay(base)
    wait_until(lambda: attempt_started(own_postgres, order_id), timeout=20, what="the attempt to start")
    started = time.monotonic()
    own_postgres.stop("fast")  # the worker's connection goes while it waits for the gateway
    time.sleep(outage)
    own_postgres.start()
    status = settled_status(base, order_id, token, timeout=40)
    seconds = time.monotonic() - started
    charges = ledger.charges(order_id)
    print(f"database away {outage} s: {status['State']} {seconds:.1f} s after the attempt began, {charges} charge(s)")
    assert (status["State"], status["PaymentStatus"], status["AttemptsLeft"]) == ("CONFIRMED", "success", 2), status
    assert charges == 1, ledger.entries(order_id)
    assert attempts(own_postgres, order_id) == [(1, "success")]
    confirmed = audit_reason(own_postgres, order_id, "confirm")
    assert ("status query" in confirmed) == bool(outage), confirmed


def audit_reason(own_postgres: PostgresServer, order_id: str, action: str) -> str:
    with own_postgres.connect() as conn:
        row = conn.execute(
            "SELECT reason FROM orders_auditentry WHERE order_id = %s AND action = %s", [order_id, action]
        ).fetchone()
    return row[0] if row else ""


def test_a_worker_killed_after_the_gateway_charged_charges_once(service, own_postgres: PostgresServer):
    processes, base, worker, ledger = service
    order_id, token = pay(base)
    wait_until(lambda: attempt_started(own_postgres, order_id), timeout=20, what="the attempt to start")
    started = time.monotonic()
    wait_until(lambda: ledger.entries(order_id), timeout=15, interval=0.02, what="the gateway's charge")
    processes.kill(worker)  # charged, and its answer still on its way back: never recorded
    assert attempts(own_postgres, order_id) == [(1, "running")]
    processes.start("run_worker")
    status = settled_status(base, order_id, token, timeout=40)
    seconds = time.monotonic() - started
    charges = ledger.charges(order_id)
    print(
        f"worker killed after the charge: {status['State']} {seconds:.1f} s after the attempt began, {charges} charge(s)"
    )
    assert (status["State"], status["PaymentStatus"], status["AttemptsLeft"]) == ("CONFIRMED", "success", 2), status
    assert charges == 1, ledger.entries(order_id)
    assert attempts(own_postgres, order_id) == [(1, "success")]
