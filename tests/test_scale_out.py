"""Two of everything on PostgreSQL + Redis: two web processes, two django-q2 clusters, two timer loops.

The race and expiry scenarios run against both web processes at once; events made through one web
process (or by a worker or timer loop) reach streams open on the other.
"""

import random
import threading
from collections import Counter

import pytest
from django.db.models import Count

from flights.services import create_flight
from inventory.models import LIVE_HOLD_STATES, SeatHold
from orders.models import AuditEntry, Order, OrderState
from tests.http import SSEStream, call, free_port, wait_for_server
from tests.processes import Processes, wait_until

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cluster(transactional_db, tmp_path, settings):
    from django.utils import timezone

    create_flight(code="FL-001", origin="A", destination="B", departs_at=timezone.now(), rows=5, letters="ABCDEF")
    processes = Processes(tmp_path)
    processes.configure(
        settings,
        REDIS_URL="redis://127.0.0.1:6379/0",
        SEAT_HOLD_SECONDS=2,
        PAYMENT_LATENCY_SECONDS=0.05,
        PAYMENT_FAILURE_RATE=0,
        DB_POOL_MAX_SIZE=8,
        THROTTLE_CHANGE_SEATS="1000000/min",
        THROTTLE_CREATE_ORDER="1000000/min",
    )
    bases = []
    for _ in range(2):
        port = free_port()
        processes.start_web(port)
        bases.append(f"http://127.0.0.1:{port}")
    processes.env["DB_POOL_MAX_SIZE"] = "0"  # no pool in the forking clusters
    for _ in range(2):
        processes.start("run_worker")
        processes.start("run_timers")
    for base in bases:
        wait_for_server(base)
    yield bases
    processes.kill_all()
    print(processes.logs())


def test_racing_through_two_web_processes_never_double_holds(cluster):
    orders = []
    for i in range(30):
        status, body = call(cluster[i % 2], "POST", "/orders", {"flightID": "FL-001"})
        assert status == 201
        orders.append((cluster[(i + 1) % 2], body["orderID"], body["token"]))  # used through the other process
    statuses, tally, start = Counter[int](), threading.Lock(), threading.Barrier(len(orders))
    rng = random.Random(8)
    picks = [[rng.sample(["1A", "1B", "1C", "1D", "1E", "1F"], 2) for _ in range(5)] for _ in orders]

    def client(base, order_id, token, my_picks):
        for seats in my_picks:
            start.wait()
            status, _ = call(base, "POST", f"/orders/{order_id}/seats", {"seats": seats}, token)
            with tally:
                statuses[status] += 1
            call(base, "POST", f"/orders/{order_id}/seats", {"seats": []}, token)

    threads = [threading.Thread(target=client, args=(*o, p)) for o, p in zip(orders, picks, strict=False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(statuses) == {200, 409}, statuses
    assert (
        not SeatHold.objects.filter(state__in=LIVE_HOLD_STATES).values("seat").annotate(n=Count("id")).filter(n__gt=1)
    )


def test_expiry_happens_once_and_events_cross_web_processes(cluster):
    first, second = cluster
    viewer = SSEStream(second, "/flights/FL-001/events")
    viewer.next()
    ids = []
    for i, seat in enumerate(["2A", "2B", "2C", "2D"]):
        _status, body = call(cluster[i % 2], "POST", "/orders", {"flightID": "FL-001"})
        ids.append(body["orderID"])
        assert call(first, "POST", f"/orders/{body['orderID']}/seats", {"seats": [seat]}, body["token"])[0] == 200
    held: set[str] = set()
    while held != {"2A", "2B", "2C", "2D"}:  # made through the first web process, seen on the second
        held |= set(viewer.next(timeout=2).data["held"])
    freed: set[str] = set()
    while freed != held:  # freed by one of the two timer loops
        freed |= set(viewer.next(timeout=5).data["available"])
    wait_until(
        lambda: not Order.objects.filter(pk__in=ids).exclude(state=OrderState.EXPIRED).exists(),
        timeout=5,
        what="every order expired",
    )
    counts = AuditEntry.objects.filter(order_id__in=ids, action="expire").values("order").annotate(n=Count("id"))
    assert sorted(c["n"] for c in counts) == [1, 1, 1, 1]
    viewer.close()


def test_a_payment_made_by_either_cluster_reaches_a_stream_on_the_other_web_process(cluster):
    first, second = cluster
    _status, body = call(first, "POST", "/orders", {"flightID": "FL-001"})
    stream = SSEStream(second, f"/orders/{body['orderID']}/events?token={body['token']}")
    stream.next()
    call(first, "POST", f"/orders/{body['orderID']}/seats", {"seats": ["4F"]}, body["token"])
    assert call(first, "POST", f"/orders/{body['orderID']}/payment", {"code": "12345"}, body["token"])[0] == 202
    final = stream.next_matching(lambda e: e.data["State"] in ("CONFIRMED", "FAILED"), timeout=15)
    assert final.data["State"] == "CONFIRMED"
    stream.close()
