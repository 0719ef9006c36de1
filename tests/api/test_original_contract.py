"""The original system's documented contract (its README, "API Quick Demo"), replayed against the real
service: the same calls and bodies, adding only the order's token that the ownership rule requires.
docs/migrating.md lists every difference a client meets; these tests pin the ones it promises.

The calls go to a real ASGI server with its worker and timer loop; the event stream is read as `curl -N`
reads it, and its statuses must be unnamed events (no `event:` line), which EventSource's `onmessage`
receives."""

import http.client
import json

import pytest
from django.utils import timezone

from flights.services import create_flight
from tests.http import SSEStream, free_port, wait_for_server
from tests.processes import Processes

pytestmark = pytest.mark.django_db(transaction=True)

STATUS_KEYS = {"State", "Seats", "HoldExpiresAt", "AttemptsLeft", "LastPaymentErr"}  # the original's keys


def curl(base: str, method: str, path: str, body: str | None = None, **headers: str) -> tuple[int, dict]:
    """As `curl -s -X<method> <url> -d <body> -H ...` sends it, with only the headers given (and curl's
    Accept: */*): http.client adds no Content-Type of its own, as urllib would."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(
            method, path, body=body.encode() if body is not None else None, headers={"Accept": "*/*", **headers}
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


JSON = {"Content-Type": "application/json"}


@pytest.fixture
def original(transactional_db, tmp_path, settings):
    """The service as `make run` starts it (web, worker, timers), with the original README's flight F-100."""
    create_flight(
        code="F-100", origin="Tel Aviv", destination="Athens", departs_at=timezone.now(), rows=5, letters="ABCDEF"
    )
    processes = Processes(tmp_path)
    processes.configure(settings, REDIS_URL="", PAYMENT_LATENCY_SECONDS=0.05, PAYMENT_FAILURE_RATE=0)
    port = free_port()
    processes.start_web(port)
    processes.start("run_worker")
    processes.start("run_timers")
    base = f"http://127.0.0.1:{port}"
    wait_for_server(base)
    yield base
    processes.kill_all()
    print(processes.logs())


def test_the_readme_demo_with_the_token_added(original):
    base = original
    # 1. Create order
    status, created = curl(base, "POST", "/orders", '{"flightID":"F-100","orderID":"o-1"}', **JSON)
    assert status == 201 and created["orderID"] == "o-1", created
    auth = {"Authorization": f"Bearer {created['token']}"}  # the one addition: the order's token
    # 3. Watch status (SSE), opened first so that it sees every change, as the README's example shows
    stream = SSEStream(base, f"/orders/o-1/events?token={created['token']}", {"Accept": "*/*"})
    assert stream.status == 200 and stream.content_type.startswith("text/event-stream")
    pending = stream.next(timeout=5)
    assert not pending.named, "a status is an unnamed event: onmessage receives it"
    assert pending.data["State"] == "PENDING" and pending.data["Seats"] == [] and pending.data.keys() >= STATUS_KEYS
    # 2. Select seats (starts/refreshes 15m hold)
    status, answer = curl(base, "POST", "/orders/o-1/seats", '{"seats":["1A","1B"]}', **JSON, **auth)
    assert (status, answer["status"]) == (200, "seats updated"), answer
    selected = stream.next(timeout=5)
    assert not selected.named
    assert (selected.data["State"], selected.data["Seats"], selected.data["AttemptsLeft"]) == (
        "SEATS_SELECTED",
        ["1A", "1B"],
        3,
    )
    assert selected.data["HoldExpiresAt"].endswith("Z")
    # 4. Pay (202 where the original said 200: the attempts run in the background; docs/migrating.md)
    status, answer = curl(base, "POST", "/orders/o-1/payment", '{"code":"12345"}', **JSON, **auth)
    assert (status, answer["status"]) == (202, "payment submitted"), answer
    confirmed = stream.next_matching(lambda event: event.data["State"] == "CONFIRMED", timeout=20)
    assert not confirmed.named
    # 5. Poll status (JSON)
    status, polled = curl(base, "GET", "/orders/o-1/status", **auth)
    assert status == 200 and polled.keys() >= STATUS_KEYS
    # AttemptsLeft counts the successful attempt too (the original's example shows 3): docs/migrating.md.
    assert (polled["State"], polled["Seats"], polled["AttemptsLeft"], polled["LastPaymentErr"]) == (
        "CONFIRMED",
        ["1A", "1B"],
        2,
        "",
    )
    assert "stream-open" in stream.kinds  # what the original did not send is named: onmessage ignores it
    stream.close()


def test_bodies_without_content_type_are_read_as_json(original):
    """The original read every body as JSON; so do the original's endpoints here."""
    base = original
    status, created = curl(base, "POST", "/orders", '{"flightID":"F-100","orderID":"o-2"}')
    assert status == 201, created
    auth = {"Authorization": f"Bearer {created['token']}"}
    status, answer = curl(base, "POST", "/orders/o-2/seats", '{"seats":["2A"]}', **auth)
    assert (status, answer["Seats"]) == (200, ["2A"]), answer
    status, answer = curl(base, "POST", "/orders/o-2/payment", '{"code":"12345"}', **auth)
    assert status == 202, answer
    # What `fetch` sends with a string body and no headers: text/plain, read as JSON too.
    status, answer = curl(
        base, "POST", "/orders", '{"flightID":"F-100"}', **{"Content-Type": "text/plain;charset=UTF-8"}
    )
    assert status == 201, answer
    # A body that is not JSON is still a clear 400; a body declared as another type is still a 415.
    status, answer = curl(base, "POST", "/orders", "flightID=F-100")
    assert (status, answer["code"]) == (400, "malformed_json"), answer
    assert "not valid JSON" in answer["error"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, answer = curl(base, "POST", "/orders", "flightID=F-100", **form)
    assert (status, answer["code"]) == (415, "unsupported_media_type"), answer


def test_a_repeated_create_answers_as_the_first_did_for_the_same_client(original):
    base = original
    body = '{"flightID":"F-100","orderID":"o-3"}'
    key = {"Idempotency-Key": "retry-of-create-o-3-0001"}
    first = curl(base, "POST", "/orders", body, **JSON, **key)
    assert first[0] == 201
    assert curl(base, "POST", "/orders", body, **JSON, **key) == first  # the same client retrying
    status, answer = curl(base, "POST", "/orders", body, **JSON)  # another client: the id is taken
    assert (status, answer["code"]) == (409, "order_id_taken"), answer
