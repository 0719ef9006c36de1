"""Server-Sent Events against a real ASGI server process, in both transports: Redis and embedded.

The changes come from where they happen in production: the web process (API calls), the django-q2
worker (payment outcomes) and the timer loop (expiry).
"""

import time

import pytest
from django.db import connection, transaction

from orders import services
from tests.http import SSEStream, call, free_port, wait_for_server
from tests.processes import Processes

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = "redis://127.0.0.1:6379/0"


class Live:
    def __init__(self, processes: Processes, settings, transport: str) -> None:
        self.processes, self.settings, self.transport = processes, settings, transport
        self.base = ""

    def start(self, *, background: bool = False, **values) -> "Live":
        """Start the web server (and the worker and timer loop) with these settings."""
        defaults = {
            "REDIS_URL": REDIS_URL if self.transport == "redis" else "",
            "PAYMENT_LATENCY_SECONDS": 0.05,
            "PAYMENT_FAILURE_RATE": 0,
        }
        self.processes.configure(self.settings, **{**defaults, **values})
        port = free_port()
        self.processes.start_web(port)
        if background:
            self.processes.start("run_worker")
            self.processes.start("run_timers")
        self.base = f"http://127.0.0.1:{port}"
        wait_for_server(self.base)
        return self

    def new_order(self, flight: str = "FL-001") -> tuple[str, str]:
        status, body = call(self.base, "POST", "/orders", {"flightID": flight})
        assert status == 201, body
        return body["orderID"], body["token"]

    def order_stream(self, order_id: str, token: str, **headers) -> SSEStream:
        return SSEStream(self.base, f"/orders/{order_id}/events?token={token}", headers)


@pytest.fixture(params=["embedded", "redis"])
def live(request, transactional_db, tmp_path, settings, flight):
    processes = Processes(tmp_path)
    yield Live(processes, settings, request.param)
    processes.kill_all()
    print(processes.logs())


def test_the_first_event_is_the_status_and_a_seat_change_arrives_within_a_second(live):
    live.start()
    order_id, token = live.new_order()
    stream = live.order_stream(order_id, token)
    assert stream.status == 200 and stream.content_type.startswith("text/event-stream")
    first = stream.next()
    assert first.type == "message"  # unnamed, as the original sent statuses
    assert first.data == call(live.base, "GET", f"/orders/{order_id}/status", token=token)[1]
    sent = time.monotonic()
    assert call(live.base, "POST", f"/orders/{order_id}/seats", {"seats": ["1A", "1B"]}, token)[0] == 200
    event = stream.next(timeout=1.0)
    print(f"{live.transport}: seat change arrived after {event.received_at - sent:.3f} s")
    assert (event.data["State"], event.data["Seats"]) == ("SEATS_SELECTED", ["1A", "1B"])
    stream.close()


def test_a_reconnect_with_last_event_id_replays_exactly_the_missed_events(live):
    live.start()
    order_id, token = live.new_order()
    stream = live.order_stream(order_id, token)
    seen = stream.next()
    stream.close()
    for seats in (["1A"], ["1A", "1B"], []):
        assert call(live.base, "POST", f"/orders/{order_id}/seats", {"seats": seats}, token)[0] == 200
    for resume in ({"Last-Event-ID": seen.id}, {}):
        path = f"/orders/{order_id}/events?token={token}" + ("" if resume else f"&lastEventId={seen.id}")
        again = SSEStream(live.base, path, resume)
        replayed = [again.next() for _ in range(3)]
        assert [e.data["Seats"] for e in replayed] == [["1A"], ["1A", "1B"], []]
        assert [e.data["State"] for e in replayed] == ["SEATS_SELECTED", "SEATS_SELECTED", "PENDING"]
        assert len({e.id for e in replayed}) == 3
        assert again.nothing_within(0.5)
        again.close()


def test_resuming_from_an_id_no_longer_kept_starts_over_with_a_snapshot(live):
    live.start()
    order_id, token = live.new_order()
    call(live.base, "POST", f"/orders/{order_id}/seats", {"seats": ["2B"]}, token)
    stream = live.order_stream(order_id, token, **{"Last-Event-ID": f"order-{order_id}:999"})
    snapshot = stream.next()
    assert (snapshot.type, snapshot.data["Seats"]) == ("message", ["2B"])
    assert stream.nothing_within(0.3)
    stream.close()


def test_an_idle_stream_gets_keep_alives(live):
    live.start(EVENTS_KEEPALIVE_SECONDS=0.3)
    stream = SSEStream(live.base, "/flights/FL-001/events")
    stream.next()
    time.sleep(1.0)
    assert stream.keepalives >= 2
    stream.close()


def test_a_rolled_back_change_sends_nothing(live):
    live.start()
    order_id, token = live.new_order()
    stream = live.order_stream(order_id, token)
    snapshot = stream.next()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.select_seats(order_id=order_id, labels=["2A"], actor="test")
        raise RuntimeError("the change fails after it published")
    assert stream.nothing_within(1.0)
    assert call(live.base, "POST", f"/orders/{order_id}/seats", {"seats": ["3A"]}, token)[0] == 200
    event = stream.next(timeout=1.0)
    assert event.data["Seats"] == ["3A"]
    channel, number = snapshot.id.rsplit(":", 1)
    assert event.id == f"{channel}:{int(number) + 1}"
    stream.close()


def test_order_streams_are_closed_to_everyone_but_the_token_holder(live):
    live.start()
    order_id, _token = live.new_order()
    _other_id, other_token = live.new_order()
    for path, status in (
        (f"/orders/{order_id}/events", 403),
        (f"/orders/{order_id}/events?token=wrong", 403),
        (f"/orders/{order_id}/events?token={other_token}", 403),
        ("/orders/o-none/events", 404),
        ("/flights/NOPE/events", 404),
    ):
        stream = SSEStream(live.base, path)
        assert stream.status == status, path
        body = stream.body()
        assert "error" in body and "State" not in body
        stream.close()


def test_a_second_viewer_sees_a_seat_held_and_then_freed_by_expiry(live):
    live.start(background=True, SEAT_HOLD_SECONDS=1.5)
    viewer = SSEStream(live.base, "/flights/FL-001/events")
    snapshot = viewer.next()
    assert snapshot.type == "availability" and "1C" in snapshot.data["available"]
    order_id, token = live.new_order()
    buyer = live.order_stream(order_id, token)
    buyer.next()
    assert call(live.base, "POST", f"/orders/{order_id}/seats", {"seats": ["1C"]}, token)[0] == 200
    held = viewer.next(timeout=1.0)
    assert (held.type, held.data["held"], held.data["available"]) == ("seats", ["1C"], [])
    freed = viewer.next(timeout=4.0)
    assert (freed.data["available"], freed.data["held"]) == (["1C"], [])
    expired = buyer.next_matching(lambda e: e.data["State"] != "SEATS_SELECTED", timeout=2.0)
    assert (expired.data["State"], expired.data["Seats"]) == ("EXPIRED", [])
    viewer.close()
    buyer.close()


def test_a_payment_outcome_from_the_worker_arrives(live):
    live.start(background=True)
    order_id, token = live.new_order()
    stream = live.order_stream(order_id, token)
    stream.next()
    call(live.base, "POST", f"/orders/{order_id}/seats", {"seats": ["5F"]}, token)
    assert call(live.base, "POST", f"/orders/{order_id}/payment", {"code": "12345"}, token)[0] == 202
    states: list[tuple[str, str, int]] = []
    while not states or states[-1][0] not in ("CONFIRMED", "FAILED"):
        event = stream.next(timeout=10.0)
        states.append((event.data["State"], event.data["PaymentStatus"], event.data["AttemptsLeft"]))
    assert states[-1] == ("CONFIRMED", "success", 2)
    assert ("PROCESSING_PAYMENT", "trying", 2) in states  # the attempt starting, from the worker
    stream.close()


@pytest.mark.postgres_only
def test_open_streams_hold_no_database_connection(live):
    live.start()

    def connections() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            return cursor.fetchone()[0]

    before = connections()
    streams = [SSEStream(live.base, "/flights/FL-001/events") for _ in range(30)]
    for stream in streams:
        stream.next()
    time.sleep(0.5)
    during = connections()
    for stream in streams:
        stream.close()
    assert during - before <= 2, f"{during - before} more connections with 30 streams open"
