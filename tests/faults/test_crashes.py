"""Crashes mid-flow: SIGKILL the worker, the timer loop and a web process while travellers race and pay.

Cluster layout on PostgreSQL + a Redis of the test's own: two web processes, a worker, a timer loop.
Travellers race for a small set of seats, some pay (the gateway is slow and often declines, so
attempts are in flight when the worker dies), some walk away (their holds lapse). Every process is
killed at least once and started again. Afterwards: no order is stuck, no order has more than three
attempts or more than one success, the gateway's ledger has one charge for each CONFIRMED order and
none for the others, no seat has two live holds, and a stream that lived through a web
process's death, resumed on the other with Last-Event-ID, saw every event of its channel in order.
"""

import http.client
import json
import random
import threading
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django_eventstream.models import EventCounter

from flights.services import create_flight
from inventory.models import LIVE_HOLD_STATES, SeatHold
from orders.gateway_ledger_sql import Ledger
from orders.models import AuditEntry, Order, OrderState, PaymentAttempt, lapsed_holds
from tests.http import SSEStream, call, free_port, wait_for_server
from tests.processes import Processes, wait_until

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

SEATS = [f"{row}{letter}" for row in range(1, 31) for letter in "ABCDEF"]
LOAD_SECONDS = 16


@pytest.fixture
def cluster(transactional_db, tmp_path, settings, own_redis):
    create_flight(code="FL-001", origin="A", destination="B", departs_at=timezone.now(), rows=30, letters="ABCDEF")
    processes = Processes(tmp_path)
    processes.configure(
        settings,
        REDIS_URL=own_redis.url,
        SEAT_HOLD_SECONDS=3,
        PAYMENT_LATENCY_SECONDS=0.4,
        PAYMENT_FAILURE_RATE=0.4,
        PAYMENT_TIMEOUT_SECONDS=2,
        PAYMENT_LOST_MARGIN_SECONDS=1,
        PAYMENT_BACKOFF_INITIAL_SECONDS=0.2,
        PAYMENT_GATEWAY_LEDGER=tmp_path / "gateway-ledger.sqlite3",
        DB_POOL_MAX_SIZE=4,
        THROTTLE_CREATE_ORDER="off",
        THROTTLE_CHANGE_SEATS="off",
        THROTTLE_PAYMENT="off",
    )
    ports = [free_port(), free_port()]
    webs = [processes.start_web(port) for port in ports]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    for base in bases:
        wait_for_server(base)
    background = {"worker": processes.start("run_worker"), "timers": processes.start("run_timers")}
    yield processes, ports, bases, webs, background
    processes.kill_all()
    print(processes.logs())


def event_id(event) -> int:
    return int(event.id.rsplit(":", 1)[1])


class Travellers:
    """Eight travellers racing for seats through either web process, a third paying, until stopped."""

    def __init__(self, bases: list[str]) -> None:
        self.bases, self.statuses = bases, Counter[int]()
        self.lock, self.stop = threading.Lock(), threading.Event()
        self.threads = [threading.Thread(target=self.travel, args=(seed,), daemon=True) for seed in range(8)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        for attempt in range(40):  # a killed web process: try the other one, as a load balancer would
            base = self.bases[(attempt + random.randrange(2)) % 2]
            try:
                status, answer = call(base, method, path, body, token)
            except (OSError, http.client.HTTPException):  # refused, reset, or an answer cut off mid-body
                time.sleep(0.05)
                continue
            with self.lock:
                self.statuses[status] += 1
            return status, answer
        raise AssertionError(f"no web process answered {method} {path}")

    def travel(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stop.is_set():
            status, created = self.request("POST", "/orders", {"flightID": "FL-001"})
            if status != 201:
                continue
            order_id, token = created["orderID"], created["token"]
            for _ in range(5):  # a seat taken (409): pick others
                status, _ = self.request("POST", f"/orders/{order_id}/seats", {"seats": rng.sample(SEATS, 2)}, token)
                if status != 409:
                    break
            if status == 200 and rng.random() < 0.6:
                self.request("POST", f"/orders/{order_id}/payment", {"code": "12345"}, token)
            time.sleep(rng.uniform(0, 0.2))


def test_sigkills_of_every_process_kind_mid_flow_break_no_invariant(cluster):
    processes, ports, bases, webs, background = cluster
    survivor = SSEStream(bases[1], "/flights/FL-001/events")
    doomed = SSEStream(bases[0], "/flights/FL-001/events")
    first, doomed_first = event_id(survivor.next(timeout=5)), event_id(doomed.next(timeout=5))
    travellers = Travellers(bases)
    travellers.start()
    doomed_ids = crash_every_kind(processes, ports, webs, background, doomed)
    travellers.finish()

    settle()
    assert not any(status >= 500 for status in travellers.statuses), travellers.statuses
    reconciled = assert_payment_and_seat_invariants(Ledger(settings.PAYMENT_GATEWAY_LEDGER))
    current = EventCounter.objects.get(name="flight-FL-001").value
    wait_until(lambda: survivor_ids(survivor, current), timeout=10, what="the surviving stream caught up")
    assert survivor.received == list(range(first + 1, current + 1))
    resumed_ids = resume(bases[1], after=doomed_ids[-1] if doomed_ids else doomed_first, until=current)
    assert doomed_ids + resumed_ids == list(range(doomed_first + 1, current + 1))
    print(
        json.dumps(
            {
                "kills": [name for _at, name in KILLS],
                "requests": sum(travellers.statuses.values()),
                "statuses": dict(travellers.statuses),
                "orders": dict(Counter(Order.objects.values_list("state", flat=True))),
                "attempts_reconciled": reconciled,
                "flight_events": current,
            }
        )
    )


KILLS = [(2, "worker"), (5, "timers"), (8, "web"), (11, "worker"), (13, "timers")]  # seconds into the load


def crash_every_kind(processes, ports, webs, background, doomed: SSEStream) -> list[int]:
    """SIGKILL each kind of process on schedule and start it again; returns what the doomed stream (on
    the web process that dies) received before its death."""
    restart = {
        "worker": lambda: processes.start("run_worker"),
        "timers": lambda: processes.start("run_timers"),
        "web": lambda: processes.start_web(ports[0]),
    }
    started, doomed_ids = time.monotonic(), []
    for at, name in KILLS:
        while time.monotonic() - started < at:
            time.sleep(0.05)
        if name == "worker":  # kill it with an attempt in hand
            wait_until(
                lambda: PaymentAttempt.objects.filter(outcome="running").exists(),
                timeout=10,
                interval=0.01,
                what="an attempt in flight",
            )
        processes.kill(background[name] if name in background else webs[0])
        time.sleep(1)
        if name in background:
            background[name] = restart[name]()
        else:
            webs[0] = restart[name]()
            doomed_ids += drain(doomed)
    while time.monotonic() - started < LOAD_SECONDS:
        time.sleep(0.1)
    return doomed_ids


def settle() -> None:
    """Holds lapse (3 s), lost answers are reconciled (timeout + margin = 3 s), retries run."""

    def settled():
        now = timezone.now()
        return not Order.objects.filter(Q(state=OrderState.PROCESSING_PAYMENT) | lapsed_holds(now)).exists()

    wait_until(settled, timeout=40, interval=0.2, what="every order settled")
    wait_until(
        lambda: not Order.objects.filter(state=OrderState.SEATS_SELECTED).exists(),
        timeout=10,
        what="every hold lapsed and expired",
    )


def assert_payment_and_seat_invariants(ledger: Ledger) -> int:
    """At most 3 attempts and one success per order, CONFIRMED exactly when one succeeded and exactly
    when the gateway charged, never twice; no seat with two live holds, no attempt left running. Returns
    the attempts whose lost answer was reconciled with the gateway (at least one)."""
    per_order = PaymentAttempt.objects.values("order").annotate(
        n=Count("id"), ok=Count("id", filter=Q(outcome="success"))
    )
    assert max((row["n"] for row in per_order), default=0) <= 3
    assert max((row["ok"] for row in per_order), default=0) <= 1
    confirmed = set(Order.objects.filter(state=OrderState.CONFIRMED).values_list("pk", flat=True))
    assert confirmed == {row["order"] for row in per_order if row["ok"] == 1}
    live = SeatHold.objects.filter(state__in=LIVE_HOLD_STATES).values("seat").annotate(n=Count("id"))
    assert not live.filter(n__gt=1).exists()
    assert not PaymentAttempt.objects.filter(outcome="running").exists()
    charges = {order_id: ledger.charges(order_id) for order_id in {row["order"] for row in per_order}}
    assert {order_id for order_id, n in charges.items() if n} == confirmed
    assert max(charges.values(), default=0) <= 1, charges
    reconciled = AuditEntry.objects.filter(details__has_key="reconciled").count()
    assert reconciled >= 1, "the worker was killed with an attempt in hand: the gateway must have been asked"
    return reconciled


def resume(base: str, *, after: int, until: int) -> list[int]:
    """Reconnect to another web process with Last-Event-ID, as EventSource does; the ids it sends."""
    resumed = SSEStream(base, "/flights/FL-001/events", headers={"Last-Event-ID": f"flight-FL-001:{after}"})
    ids: list[int] = []
    deadline = time.monotonic() + 10
    while (not ids or ids[-1] < until) and time.monotonic() < deadline:
        ids += drain(resumed, wait=0.5)
    return ids


def drain(stream: SSEStream, wait: float = 0.2) -> list[int]:
    ids = []
    while True:
        try:
            ids.append(event_id(stream.next(timeout=wait)))
        except AssertionError:
            return ids


def survivor_ids(stream: SSEStream, current: int) -> bool:
    stream.received += drain(stream)
    return bool(stream.received) and stream.received[-1] >= current
