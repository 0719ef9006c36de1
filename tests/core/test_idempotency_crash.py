"""A web process killed (SIGKILL) in the middle of an Idempotency-Key request does not leave the key stuck.

The claim on a key and the change it guards commit together (core/idempotency.py): a request that
dies before its commit leaves neither, so the retry on another web process runs cleanly and acts once.

Two windows for the kill, on POST /orders and POST /orders/{id}/payment:
- `lock_wait`: the request is blocked before its change (the test holds a lock on the orders table);
- `after_change`: the change is made but not committed (IDEMPOTENCY_DEBUG_PAUSE_SECONDS holds it there).
"""

import json
import threading
import urllib.request

import psycopg
import pytest
from django.db import connection

from flights.services import create_flight
from orders import services
from orders.models import AuditEntry, Order, OrderState
from tests.http import call, free_port, wait_for_server
from tests.processes import Processes, wait_until
from tests.processes import test_database_url as database_url

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

KEY = "crash-5b0f7a52-9c1e-4f5e-8d0b"


@pytest.fixture
def processes(transactional_db, tmp_path, settings):
    from django.utils import timezone

    create_flight(code="FL-001", origin="A", destination="B", departs_at=timezone.now(), rows=5, letters="ABCDEF")
    processes = Processes(tmp_path)
    processes.configure(settings, PAYMENT_LATENCY_SECONDS=0.05, PAYMENT_FAILURE_RATE=0)
    yield processes
    processes.kill_all()
    print(processes.logs())


def post(base: str, path: str, body: dict, token: str | None = None, timeout: float = 10) -> tuple[int, dict, dict]:
    headers = {"Content-Type": "application/json", "Accept": "application/json", "Idempotency-Key": KEY}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read()), {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), {k.lower(): v for k, v in error.headers.items()}


def send_in_background(base: str, path: str, body: dict, token: str | None) -> threading.Thread:
    def send():
        try:
            post(base, path, body, token, timeout=30)
        except OSError:
            pass  # the server is killed under it: no answer is the point

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def backends(where: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            f"AND pid <> pg_backend_pid() AND {where}"
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize("window", ["lock_wait", "after_change"])
@pytest.mark.parametrize("endpoint", ["create", "payment"])
def test_a_request_killed_mid_flight_leaves_its_key_usable(processes, settings, endpoint, window):
    if window == "after_change":
        # widens the window between the change and its commit so that the kill lands inside it
        processes.configure(settings, IDEMPOTENCY_DEBUG_PAUSE_SECONDS=20)
    token = None
    if endpoint == "create":
        path, body = "/orders", {"flightID": "FL-001", "orderID": "o-crash"}
    else:
        order, token = services.create_order(flight_code="FL-001", actor="test")
        services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
        path, body = f"/orders/{order.pk}/payment", {"code": "12345"}
    first_port = free_port()
    first = processes.start_web(first_port)
    wait_for_server(f"http://127.0.0.1:{first_port}")

    blocker = None
    if window == "lock_wait":  # block the request's change: reads go on, writes to orders wait
        blocker = psycopg.connect(database_url())
        blocker.execute("LOCK TABLE orders_order IN EXCLUSIVE MODE")
    send_in_background(f"http://127.0.0.1:{first_port}", path, body, token)
    if window == "lock_wait":
        wait_until(lambda: backends("wait_event_type = 'Lock'"), timeout=10, what="the request to wait on the lock")
    else:
        wait_until(
            lambda: backends("state = 'idle in transaction'"),
            timeout=10,
            what="the request to pause after its change, before its commit",
        )
    processes.kill(first)
    if blocker is not None:
        blocker.rollback()
        blocker.close()

    processes.env["IDEMPOTENCY_DEBUG_PAUSE_SECONDS"] = "0"
    second_port = free_port()
    processes.start_web(second_port)
    second = f"http://127.0.0.1:{second_port}"
    wait_for_server(second)
    status, answer, _ = post(second, path, body, token)
    assert status in (201, 202), (status, answer)  # a real answer, never 409 "in use"
    again, replayed, headers = post(second, path, body, token)
    assert (again, replayed) == (status, answer) and headers.get("idempotent-replayed") == "true"
    if endpoint == "create":
        assert list(Order.objects.values_list("pk", flat=True)) == ["o-crash"]
        assert call(second, "GET", "/orders/o-crash/status", token=answer["token"])[0] == 200
    else:
        assert AuditEntry.objects.filter(order_id=order.pk, action="submit_payment").count() == 1
        assert Order.objects.get(pk=order.pk).state == OrderState.PROCESSING_PAYMENT
