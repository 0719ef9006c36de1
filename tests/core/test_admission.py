"""Bounded concurrency by default, against real uvicorn processes on PostgreSQL.

- a saturated web process answers what it cannot start within WEB_MAX_WAIT_SECONDS with 503, Retry-After
  and the JSON error, while event streams still open; the control (no admission) leaves them waiting;
- on PostgreSQL a web process has a connection pool with no setting, and never holds more than it;
- a burst takes no connections from the timer loop or the worker: holds still expire, the worker still
  beats, and the web process stays inside its pool;
- the slots themselves (core/admission.py): first come first served, a bounded wait, a slot never lost.
"""

import asyncio
import json
import sys
import threading
import time
from collections import Counter

import psycopg
import pytest

from core.admission import Slots
from flights.services import create_flight
from tests.http import SSEStream, call, free_port, wait_for_server
from tests.processes import Processes, wait_until
from tests.processes import test_database_url as database_url

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def processes(transactional_db, tmp_path, settings, monkeypatch):
    from django.utils import timezone

    for name in ("DB_POOL_MAX_SIZE", "WEB_THREADS", "WEB_MAX_WAIT_SECONDS"):  # the defaults are under test
        monkeypatch.delenv(name, raising=False)
    create_flight(code="FL-001", origin="A", destination="B", departs_at=timezone.now(), rows=5, letters="ABCDEF")
    processes = Processes(tmp_path)
    processes.configure(settings, THROTTLE_CHANGE_SEATS="1000000/min", THROTTLE_CREATE_ORDER="1000000/min")
    yield processes
    processes.kill_all()
    print(processes.logs())


def start(processes: Processes, app: str = "seatbooking.asgi:application") -> str:
    port = free_port()
    if app == "seatbooking.asgi:application":
        processes.start_web(port)
    else:
        argv = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
        processes.start_argv("web", [*argv, "--log-level", "warning", "--no-proxy-headers"])
    base = f"http://127.0.0.1:{port}"
    wait_for_server(base)
    return base


def connections(application_name: str, *, waiting_on_a_lock: bool = False) -> int:
    with psycopg.connect(database_url(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s"
            + (" AND wait_event_type = 'Lock'" if waiting_on_a_lock else ""),
            [application_name],
        ).fetchone()
    assert row is not None
    return row[0]


class Request(threading.Thread):
    """One GET in a thread of its own: status, headers, body and seconds, once it has answered."""

    def __init__(self, base: str, path: str) -> None:
        super().__init__(daemon=True)
        self.base, self.path = base, path
        self.status: int | None = None
        self.start()

    def run(self) -> None:
        import urllib.error
        import urllib.request

        started = time.monotonic()
        request = urllib.request.Request(self.base + self.path, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                self.status, self.headers, self.body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            self.status, self.headers, self.body = error.code, error.headers, error.read()
        self.seconds = time.monotonic() - started


def lock_the_orders_table() -> psycopg.Connection:
    """Every request that reads an order stalls until the returned connection rolls back."""
    conn = psycopg.connect(database_url())
    conn.execute("LOCK TABLE orders_order IN ACCESS EXCLUSIVE MODE")
    return conn


def stall_every_thread(base: str, threads: int) -> tuple[psycopg.Connection, list[Request]]:
    status, order = call(base, "POST", "/orders", {"flightID": "FL-001"})
    assert status == 201
    lock = lock_the_orders_table()
    stalled = [Request(base, f"/orders/{order['orderID']}/status?token={order['token']}") for _ in range(threads)]
    wait_until(
        lambda: connections("seatbooking web", waiting_on_a_lock=True) == threads,
        timeout=10,
        what=f"{threads} requests stalled on the lock",
    )
    return lock, stalled


def test_a_saturated_process_answers_503_busy_with_retry_after_and_streams_still_open(processes, settings):
    processes.configure(
        settings, WEB_THREADS=2, WEB_MAX_WAIT_SECONDS=0.5, DB_LOCK_TIMEOUT_SECONDS=0, DB_STATEMENT_TIMEOUT_SECONDS=0
    )
    base = start(processes)
    lock, stalled = stall_every_thread(base, 2)
    try:
        beyond = [Request(base, "/flights") for _ in range(6)]  # needs no order: only a thread
        for request in beyond:
            request.join(10)
        stream = SSEStream(base, "/flights/FL-001/events")  # in the event loop: no thread needed
        assert stream.status == 200 and stream.content_type.startswith("text/event-stream")
        assert stream.next(timeout=5).type == "availability"
        stream.close()
        assert all(s.status is None for s in stalled)
    finally:
        lock.rollback()
        lock.close()
    for request in beyond:
        assert request.status == 503, (request.status, request.body)
        assert request.headers["Retry-After"] == "1"
        assert request.headers["Content-Type"] == "application/json"
        assert json.loads(request.body)["code"] == "busy"
        assert 0.4 < request.seconds < 5, request.seconds  # waited its bounded time, then gave up
    for request in stalled:
        request.join(10)
        assert request.status == 200
    assert call(base, "GET", "/flights")[0] == 200  # the slots came back
    assert "Traceback" not in processes.logs()
    assert "refused 1 request(s)" in processes.logs()  # the first at once; the rest in one line 5 s later
    assert "503 busy (no request slot within 0.5 s): 1" in processes.logs()


def test_control_without_admission_requests_wait_as_long_as_the_stall(processes, settings):
    processes.configure(
        settings, WEB_THREADS=2, WEB_MAX_WAIT_SECONDS=0.5, DB_LOCK_TIMEOUT_SECONDS=0, DB_STATEMENT_TIMEOUT_SECONDS=0
    )
    base = start(processes, "tests.admission_control:application")
    lock, stalled = stall_every_thread(base, 2)
    try:
        beyond = [Request(base, "/flights") for _ in range(6)]
        time.sleep(3)
        assert all(r.status is None for r in beyond), [r.status for r in beyond]  # queued, without a bound
    finally:
        lock.rollback()
        lock.close()
    for request in [*beyond, *stalled]:
        request.join(10)
        assert request.status == 200
    assert min(r.seconds for r in beyond) > 2.5


def test_on_postgresql_a_web_process_has_a_pool_without_any_setting(processes, settings):
    """60 requests at once, all stalled: the web process runs 8 (WEB_THREADS' default) and holds at most
    10 connections (the pool's default size); afterwards its connections stay open in the pool."""
    processes.configure(settings, DB_LOCK_TIMEOUT_SECONDS=0, DB_STATEMENT_TIMEOUT_SECONDS=0, WEB_MAX_WAIT_SECONDS=30)
    base = start(processes)
    lock, stalled = stall_every_thread(base, 8)
    try:
        more = [Request(base, stalled[0].path) for _ in range(52)]
        time.sleep(1.5)
        assert connections("seatbooking web", waiting_on_a_lock=True) == 8
        assert connections("seatbooking web") <= 10
    finally:
        lock.rollback()
        lock.close()
    for request in [*stalled, *more]:
        request.join(30)
        assert request.status == 200
    time.sleep(0.5)
    assert 1 <= connections("seatbooking web") <= 10  # kept open by the pool (without one: closed after each)


async def get(port: int, path: str, until: float, statuses: Counter, retry_after: Counter) -> None:
    """GET `path` again and again on one keep-alive connection until `until`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < until:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n".encode())
            status = int((await reader.readline()).split()[1])
            length, has_retry_after = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name = line.split(b":")[0].lower()
                length = int(line.split(b":")[1]) if name == b"content-length" else length
                has_retry_after |= name == b"retry-after"
            await reader.readexactly(length)
            statuses[status] += 1
            retry_after[status] += has_retry_after
    finally:
        writer.close()


def test_a_burst_takes_no_connections_from_the_timer_loop_or_the_worker(processes, settings):
    from core.models import Heartbeat
    from orders.models import Order, OrderState

    processes.configure(settings, SEAT_HOLD_SECONDS=2, HEARTBEAT_SECONDS=0.5)
    base = start(processes)
    processes.start("run_timers")
    processes.start("run_worker")
    wait_until(lambda: Heartbeat.objects.filter(name="worker").exists(), timeout=20, what="the worker's first beat")
    held = []
    for seat in ("1A", "1B", "1C", "1D"):
        order = call(base, "POST", "/orders", {"flightID": "FL-001"})[1]
        assert call(base, "POST", f"/orders/{order['orderID']}/seats", {"seats": [seat]}, order["token"])[0] == 200
        held.append(order["orderID"])
    port, path = int(base.rsplit(":", 1)[1]), f"/orders/{order['orderID']}/status?token={order['token']}"
    statuses, retry_after, samples = Counter[int](), Counter[int](), []
    burst_started = time.time()
    until = time.monotonic() + 5  # the holds fall due 2 s after they were made: during the burst
    sampling = True

    def sample() -> None:
        while sampling:
            samples.append(connections("seatbooking web"))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    async def burst() -> None:
        await asyncio.gather(*(get(port, path, until, statuses, retry_after) for _ in range(300)))

    asyncio.run(burst())
    sampling = False
    sampler.join()
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] > 0
    assert retry_after[503] == statuses[503]
    assert max(samples) <= 10, samples  # inside the pool's default size
    # The holds fell due during the burst (2 s in) and the timer loop expired them before it ended (5 s
    # in, checked at once); the worker, whose beat the timer loop enqueues, kept beating.
    assert set(Order.objects.filter(id__in=held).values_list("state", flat=True)) == {OrderState.EXPIRED}
    assert Heartbeat.objects.get(name="worker").beat_at.timestamp() > burst_started + 2
    assert "too many clients" not in processes.logs()
    assert "Traceback" not in processes.logs()


def test_slots_are_first_come_first_served_bounded_and_never_lost():
    async def scenario() -> None:
        slots = Slots(2, max_wait=0.3)
        assert await slots.acquire() and await slots.acquire()
        order: list[str] = []

        async def wait(name: str) -> bool:
            admitted = await slots.acquire()
            order.append(name)
            return admitted

        first = asyncio.ensure_future(wait("first"))
        await asyncio.sleep(0.01)
        second = asyncio.ensure_future(wait("second"))
        cancelled = asyncio.ensure_future(wait("cancelled"))
        await asyncio.sleep(0.01)
        cancelled.cancel()
        slots.release()  # goes to the first in line
        assert await first and order == ["first"]
        assert await second is False  # nothing came free within max_wait
        assert slots.busy == 2 and not slots.waiting
        slots.release()
        slots.release()
        assert slots.busy == 0
        assert await slots.acquire() and await slots.acquire()
        assert await Slots(1, max_wait=0).acquire() is True

    asyncio.run(scenario())
