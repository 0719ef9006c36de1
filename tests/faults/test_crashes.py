"""Crashes mid-flow: SIGKILL the worker, the timer loop and a web process while travellers race and pay.

Cluster layout on PostgreSQL + a Redis of the test's own: two web processes, a worker, a timer loop.
Travellers race for a small set of seats, some pay (the gateway is slow and often declines, so
attempts are in flight when the worker dies), some walk away (their holds lapse). Every process is
killed at least once and started again. Afterwards: no order is stuck, no order has more than three
attempts or more than one success, no seat has two live holds, and a stream that lived through a web
process's death, resumed on the other with Last-Event-ID, saw every event of its channel in order.
"""

import json
import random
import threading
import time
from collections import Counter

import pytest
from django.db.models import Count, Q
from django.utils import timezone
from django_eventstream.models import EventCounter

from flights.services import create_flight
from orders.models import LIVE_HOLD_STATES, Order, OrderState, PaymentAttempt, SeatHold
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


def test_sigkills_of_every_process_kind_mid_flow_break_no_invariant(cluster):
    processes, ports, bases, webs, background = cluster
    statuses, lock, stop = Counter[int](), threading.Lock(), threading.Event()

    def request(method, path, body=None, token=None):
        for attempt in range(40):  # a killed web process: try the other one, as a load balancer would
            base = bases[(attempt + random.randrange(2)) % 2]
            try:
                status, answer = call(base, method, path, body, token)
            except OSError:
                time.sleep(0.05)
                continue
            with lock:
                statuses[status] += 1
            return status, answer
        raise AssertionError(f"no web process answered {method} {path}")

    def traveller(seed: int):
        rng = random.Random(seed)
        while not stop.is_set():
            status, created = request("POST", "/orders", {"flightID": "FL-001"})
            if status != 201:
                continue
            order_id, token = created["orderID"], created["token"]
            for _ in range(5):  # a seat taken (409): pick others
                status, _ = request("POST", f"/orders/{order_id}/seats", {"seats": rng.sample(SEATS, 2)}, token)
                if status != 409:
                    break
            if status == 200 and rng.random() < 0.6:
                request("POST", f"/orders/{order_id}/payment", {"code": "12345"}, token)
            time.sleep(rng.uniform(0, 0.2))

    survivor = SSEStream(bases[1], "/flights/FL-001/events")
    doomed = SSEStream(bases[0], "/flights/FL-001/events")
    first = event_id(survivor.next(timeout=5))
    doomed_first = event_id(doomed.next(timeout=5))
    threads = [threading.Thread(target=traveller, args=(seed,), daemon=True) for seed in range(8)]
    for thread in threads:
        thread.start()

    kills = []

    def crash(name: str, restart) -> None:
        process = background[name] if name in background else webs[0]
        if name == "worker":  # kill it with an attempt in hand
            wait_until(
                lambda: PaymentAttempt.objects.filter(outcome="running").exists(),
                timeout=10,
                interval=0.01,
                what="an attempt in flight",
            )
        processes.kill(process)
        kills.append(name)
        time.sleep(1)
        if name in background:
            background[name] = restart()
        else:
            webs[0] = restart()

    started = time.monotonic()
    plan = [
        (2, "worker", lambda: processes.start("run_worker")),
        (5, "timers", lambda: processes.start("run_timers")),
        (8, "web", lambda: processes.start_web(ports[0])),
        (11, "worker", lambda: processes.start("run_worker")),
        (13, "timers", lambda: processes.start("run_timers")),
    ]
    doomed_ids = []
    for at, name, restart in plan:
        while time.monotonic() - started < at:
            time.sleep(0.05)
        crash(name, restart)
        if name == "web":  # what the doomed stream received before its process died
            doomed_ids += drain(doomed)
    while time.monotonic() - started < LOAD_SECONDS:
        time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    # Settle: holds lapse (3 s), lost attempts are counted (timeout + margin = 3 s), retries run.
    def settled():
        now = timezone.now()
        return not Order.objects.filter(
            Q(state=OrderState.PROCESSING_PAYMENT) | Q(state=OrderState.SEATS_SELECTED, hold_expires_at__lte=now)
        ).exists()

    wait_until(settled, timeout=40, interval=0.2, what="every order settled")
    wait_until(
        lambda: not Order.objects.filter(state=OrderState.SEATS_SELECTED).exists(),
        timeout=10,
        what="every hold lapsed and expired",
    )

    assert 500 not in statuses and not any(s >= 500 for s in statuses), statuses
    per_order = PaymentAttempt.objects.values("order").annotate(
        n=Count("id"), ok=Count("id", filter=Q(outcome="success"))
    )
    assert max((row["n"] for row in per_order), default=0) <= 3
    assert max((row["ok"] for row in per_order), default=0) <= 1
    confirmed = set(Order.objects.filter(state=OrderState.CONFIRMED).values_list("pk", flat=True))
    assert confirmed == {row["order"] for row in per_order if row["ok"] == 1}
    assert (
        not SeatHold.objects.filter(state__in=LIVE_HOLD_STATES)
        .values("seat")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )
    assert not PaymentAttempt.objects.filter(outcome="running").exists()

    current = EventCounter.objects.get(name="flight-FL-001").value
    wait_until(lambda: survivor_ids(survivor, current), timeout=10, what="the surviving stream caught up")
    assert survivor.received == list(range(first + 1, current + 1))
    resumed = SSEStream(
        bases[1],
        "/flights/FL-001/events",
        headers={"Last-Event-ID": f"flight-FL-001:{doomed_ids[-1] if doomed_ids else doomed_first}"},
    )
    resumed_ids: list[int] = []
    deadline = time.monotonic() + 10
    while (not resumed_ids or resumed_ids[-1] < current) and time.monotonic() < deadline:
        resumed_ids += drain(resumed, wait=0.5)
    assert doomed_ids + resumed_ids == list(range(doomed_first + 1, current + 1))

    outcomes = Counter(Order.objects.values_list("state", flat=True))
    lost = PaymentAttempt.objects.filter(outcome="lost").count()
    assert lost >= 1, "the worker was killed with an attempt in hand: it must have been counted lost"
    print(
        json.dumps(
            {
                "kills": kills,
                "requests": sum(statuses.values()),
                "statuses": dict(statuses),
                "orders": dict(outcomes),
                "attempts_counted_lost": lost,
                "flight_events": current,
            }
        )
    )


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
