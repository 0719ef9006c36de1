"""Redis goes away and comes back: booking goes on, and every open stream gets every committed change.

Two web processes, a worker and a timer loop on PostgreSQL, with a Redis of the test's own that is
killed for longer than any client's retries, then started again on the same port. Streams stay open
on both web processes throughout; each must receive every event of its channel, in order, without a
gap, whether it was committed before, during or after the outage.
"""

import json
import os
import time

import pytest
from django_eventstream.models import EventCounter

from flights.services import create_flight
from tests.faults.redis_server import RedisServer
from tests.http import SSEStream, call, free_port, wait_for_server
from tests.processes import Processes, wait_until

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

# Longer than redis-py's retries and than django-eventstream's listener used to survive (a few seconds).
OUTAGE_SECONDS = float(os.environ.get("FAULT_REDIS_OUTAGE_SECONDS", 12))


@pytest.fixture
def service(transactional_db, tmp_path, settings, own_redis: RedisServer):
    from django.utils import timezone

    create_flight(code="FL-001", origin="A", destination="B", departs_at=timezone.now(), rows=10, letters="ABCDEF")
    processes = Processes(tmp_path)
    # Throttles stay on at their defaults: their counts live in Redis, which goes away.
    processes.configure(
        settings, REDIS_URL=own_redis.url, PAYMENT_LATENCY_SECONDS=0.05, PAYMENT_FAILURE_RATE=0, DB_POOL_MAX_SIZE=4
    )
    bases = []
    for _ in range(2):
        port = free_port()
        processes.start_web(port)
        bases.append(f"http://127.0.0.1:{port}")
    processes.start("run_worker")
    processes.start("run_timers")
    for base in bases:
        wait_for_server(base)
    # The worker's cluster must be up before a test stalls Redis (a sentinel starting against a hung
    # Redis exits, and a process manager would start it again; here that would fail the test).
    wait_until(lambda: "running." in processes.logs(), timeout=20, what="the worker's cluster running")
    yield bases
    processes.kill_all()
    print(processes.logs())


def event_id(event) -> int:
    return int(event.id.rsplit(":", 1)[1])


class Watched:
    """An open stream and the ids it received, to compare with the channel's ids in the table."""

    def __init__(self, base: str, path: str, channel: str) -> None:
        self.channel, self.stream = channel, SSEStream(base, path)
        assert self.stream.status == 200
        self.first = event_id(self.stream.next(timeout=5))  # the snapshot, at the channel's id then
        self.ids: list[int] = []

    def drain_until(self, last_id: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (not self.ids or self.ids[-1] < last_id) and time.monotonic() < deadline:
            try:
                self.ids.append(event_id(self.stream.next(timeout=max(0.05, deadline - time.monotonic()))))
            except AssertionError:
                break


def current_id(channel: str) -> int:
    return EventCounter.objects.filter(name=channel).values_list("value", flat=True).first() or 0


class Booking:
    """Requests through both web processes in turn; none may answer 5xx."""

    def __init__(self, bases: list[str]) -> None:
        self.bases, self.statuses = bases, list[int]()

    def post(self, i: int, path: str, body: dict | None, token: str | None = None) -> dict:
        status, answer = call(self.bases[i % 2], "POST", path, body, token)
        self.statuses.append(status)
        assert status < 500, (path, status, answer)
        return answer

    def during(self, seconds: float, *, order_id: str, token: str) -> int:
        """Other travellers book and one pays while the traveller changes seats; returns the requests made."""
        started, made, rows = time.monotonic(), 0, iter(range(2, 10))
        while time.monotonic() - started < seconds:
            row = next(rows, None)
            if row is not None:
                other = self.post(row, "/orders", {"flightID": "FL-001"})
                self.post(row + 1, f"/orders/{other['orderID']}/seats", {"seats": [f"{row}B"]}, other["token"])
                self.post(row, f"/orders/{order_id}/seats", {"seats": ["1A", f"{row}A"]}, token)
                made += 3
                if row == 2:
                    self.post(row, f"/orders/{other['orderID']}/payment", {"code": "12345"}, other["token"])
            time.sleep(0.5)
        return made


def assert_streams_up_to_date(watched: list[Watched], *, timeout: float) -> None:
    for w in watched:
        w.drain_until(current_id(w.channel), timeout=timeout)
        expected = list(range(w.first + 1, current_id(w.channel) + 1))
        assert w.ids == expected, f"{w.channel}: got {w.ids}, table has {expected}"


def test_streams_get_every_change_across_a_redis_outage_and_booking_never_fails(service, own_redis):
    bases, booking = service, Booking(service)
    traveller = booking.post(0, "/orders", {"flightID": "FL-001"})
    order_id, token = traveller["orderID"], traveller["token"]
    watched = [
        Watched(base, path, channel)
        for base in bases
        for path, channel in (
            ("/flights/FL-001/events", "flight-FL-001"),
            (f"/orders/{order_id}/events?token={token}", f"order-{order_id}"),
        )
    ]
    wait_until(lambda: own_redis.subscribers("events_channel") == 2, timeout=10, what="both web processes subscribed")
    booking.post(0, f"/orders/{order_id}/seats", {"seats": ["1A"]}, token)

    own_redis.stop()
    outage_started = time.monotonic()
    made = booking.during(OUTAGE_SECONDS, order_id=order_id, token=token)
    assert_streams_up_to_date(watched, timeout=3)  # live during the outage too: the table is polled meanwhile
    for status, body in [call(base, "GET", "/health") for base in bases]:
        assert status == 200 and body["status"] == "degraded", body
        assert {"redis", "event delivery"} <= set(body["degraded"]), body
    own_redis.start()

    wait_until(lambda: own_redis.subscribers("events_channel") == 2, timeout=15, what="both web processes resubscribed")
    resubscribed_after = time.monotonic() - outage_started - OUTAGE_SECONDS
    for i, seats in enumerate((["1A"], ["1A", "1C"], ["1C"], ["1C", "1D"], ["1D"])):
        booking.post(i, f"/orders/{order_id}/seats", {"seats": seats}, token)
    assert_streams_up_to_date(watched, timeout=10)
    wait_until(
        lambda: all(call(base, "GET", "/health")[1]["status"] == "ok" for base in bases),
        timeout=15,
        what="health ok again",
    )
    figures = {
        "outage_seconds": OUTAGE_SECONDS,
        "requests_during_outage": made,
        "resubscribed_seconds_after_restart": round(resubscribed_after, 2),
        "events_per_stream": {w.channel: len(w.ids) for w in watched[:2]},
        "streams": len(watched),
        "5xx": sum(s >= 500 for s in booking.statuses),
    }
    print(json.dumps(figures))


def test_an_event_whose_publication_was_lost_still_reaches_streams_in_order(service, own_redis):
    """A process that dies between its commit and its publish on Redis (or publishes late) leaves a gap
    in what Redis delivers; the stream fills it from the table instead of skipping the event."""
    from django.db import transaction
    from django_eventstream.utils import get_storage

    from core.events.publishing import publish

    watched = [Watched(base, "/flights/FL-001/events", "flight-FL-001") for base in service]
    wait_until(lambda: own_redis.subscribers("events_channel") == 2, timeout=10, what="both web processes subscribed")
    with transaction.atomic():  # stored, never published: its process "died" right after the commit
        get_storage().append_events([("flight-FL-001", "seats", json.dumps({"available": ["1A"]}))])
    with transaction.atomic():
        publish("flight-FL-001", "seats", {"held": ["1A"]})
    for w in watched:
        w.drain_until(w.first + 2, timeout=5)
        assert w.ids == [w.first + 1, w.first + 2]


def test_a_change_committed_while_redis_hangs_reaches_streams_of_a_quiet_channel(service, own_redis):
    """Redis stalls for a moment (no error, no answer): the publish times out and is dropped, and the
    subscribers notice nothing. With no later change on the channel to reveal the gap, the web
    processes' sweep of the event table must still bring it."""
    watched = [Watched(base, "/flights/FL-001/events", "flight-FL-001") for base in service]
    wait_until(lambda: own_redis.subscribers("events_channel") == 2, timeout=10, what="both web processes subscribed")
    _status, created = call(service[0], "POST", "/orders", {"flightID": "FL-001"})
    own_redis.pause()
    try:
        status, _ = call(service[0], "POST", f"/orders/{created['orderID']}/seats", {"seats": ["3C"]}, created["token"])
        assert status == 200
        time.sleep(1.5)
    finally:
        own_redis.resume()
    stalled_at = time.monotonic()
    for w in watched:
        w.drain_until(current_id(w.channel), timeout=6)
        assert w.ids == [w.first + 1], f"{w.channel}: got {w.ids}"
    print(f"the change reached every stream {time.monotonic() - stalled_at:.2f} s after Redis came back")


def test_with_redis_as_the_task_broker_paying_during_an_outage_is_accepted_and_completes_after(
    transactional_db, tmp_path, settings, own_redis
):
    """Q_BROKER=redis: the payment's task cannot be queued while Redis is down. The payment is accepted
    all the same (202, committed); the timer loop queues it once Redis is back."""
    from django.utils import timezone

    from orders.models import Order, OrderState

    create_flight(code="FL-001", origin="A", destination="B", departs_at=timezone.now(), rows=5, letters="ABCDEF")
    processes = Processes(tmp_path)
    processes.configure(
        settings,
        REDIS_URL=own_redis.url,
        Q_BROKER="redis",
        PAYMENT_LATENCY_SECONDS=0.05,
        PAYMENT_FAILURE_RATE=0,
        PAYMENT_TIMEOUT_SECONDS=2,
    )
    port = free_port()
    processes.start_web(port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(base)
        own_redis.stop()
        _status, created = call(base, "POST", "/orders", {"flightID": "FL-001"})
        order_id, token = created["orderID"], created["token"]
        assert call(base, "POST", f"/orders/{order_id}/seats", {"seats": ["1A"]}, token)[0] == 200
        status, body = call(base, "POST", f"/orders/{order_id}/payment", {"code": "12345"}, token)
        assert status == 202, body
        own_redis.start()
        processes.start("run_worker")
        processes.start("run_timers")
        wait_until(
            lambda: Order.objects.get(pk=order_id).state == OrderState.CONFIRMED, timeout=20, what="payment made"
        )
        assert "Traceback" not in processes.logs()
    finally:
        processes.kill_all()
