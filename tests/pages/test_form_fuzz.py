"""Every page form, every path id and every query parameter, fed malformed values: never a 5xx.

Each door is tried: the page forms as a browser without JavaScript posts them, the JSON API as the pages'
script calls it (the session cookie and X-CSRFToken) and as an integrator does (Authorization: Bearer),
and the lean path of the hot calls (through the web processes' own WSGI application). The values: unknown
and malformed seat labels, empty, very long, NUL, non-ASCII, arrays where strings are expected, duplicate
fields, bodies that are not UTF-8. A refusal is any 4xx (or the page again with its message); a 5xx is a
failure, and the assertion names every request that got one. Event streams are only opened with ids or
tokens that cannot open them, so each answers at once.
"""

import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from orders import queue, services
from orders.gateway import ChargeResult
from orders.models import AttemptOutcome
from orders.services.payments import finish_payment_attempt, start_payment_attempt
from seatbooking.handlers import web_application

pytestmark = pytest.mark.django_db(transaction=True)

LONG = "9" * 5000
# Values a person, a broken client or an attacker might put where a short string is expected.
MALFORMED = ["", "ZZ", "A", "é", "0A", "1a", "99Z", "100A", "1A\x00", "\x00", "1A\n", " ", "１Ａ", "1A,1B", LONG]
# Ids in a path (already percent-encoded): NUL, non-ASCII, bytes that are not UTF-8, too long, odd characters.
BAD_IDS = ["%00", "a%00b", "%C3%A9", "%FF", "%C0%AE", "x" * 300, "a%20b", "%0A", "a.b", "%E2%80%8B"]
ORDER_PATHS = ["/orders/{}/seats", "/orders/{}/payment", "/orders/{}/passengers", "/orders/{}/cancel"]
ORDER_READS = ["/orders/{}/status", "/orders/{}/events"]
PAGE_POSTS = [
    "/booking/{}/seats",
    "/booking/{}/pay",
    "/booking/{}/cancel",
    "/booking/{}/passengers",
    "/booking/{}/best",
]
PAGE_READS = ["/booking/{}", "/booking/{}/receipt"]
FLIGHT_READS = ["/flights/{}", "/flights/{}/available-seats", "/flights/{}/events"]


@dataclass
class Tally:
    """Requests sent and those answered with a 5xx, named for the assertion message."""

    sent: int = 0
    failed: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    def check(self, status: int, method: str, path: str, sent: Any = "") -> None:
        self.sent += 1
        self.statuses[status] += 1
        if status >= 500:
            self.failed.append(f"{status} {method} {path[:80]} {str(sent)[:80]!r}")

    def assert_no_server_errors(self) -> None:
        assert not self.failed, f"{len(self.failed)} of {self.sent} requests answered 5xx:\n" + "\n".join(self.failed)

    def assert_mostly(self, *statuses: int) -> None:
        """Most answers were these: the requests reached the check they were meant for (a fixture that made
        every request a 403, say, would pass `assert_no_server_errors` without testing anything)."""
        reached = sum(self.statuses[status] for status in statuses)
        assert reached >= 0.8 * self.sent, f"only {reached} of {self.sent} answered {statuses}: {dict(self.statuses)}"


@pytest.fixture
def tally() -> Iterator[Tally]:
    found = Tally()
    yield found
    print(f"fuzz: {found.sent} requests, {len(found.failed)} x 5xx; answers {dict(found.statuses)}")


@pytest.fixture
def no_script(flight) -> Client:
    """A browser without JavaScript that has started a booking and holds two seats."""
    client = Client(raise_request_exception=False)
    started = client.post(f"/book/{flight.code}")
    assert started.status_code == 302, started.content
    client.order_id = started["Location"].rsplit("/", 1)[1]  # type: ignore[attr-defined]
    assert client.post(f"/booking/{client.order_id}/seats", {"seats": ["1A", "1B"]}).status_code == 302  # type: ignore[attr-defined]
    return client


@pytest.fixture
def script(flight) -> Client:
    """The booking page's script: the session's cookie, and the CSRF token taken from the page."""
    client = Client(raise_request_exception=False, enforce_csrf_checks=True)
    home = client.get("/")
    assert home.status_code == 200
    started = client.post(f"/book/{flight.code}", {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert started.status_code == 302, started.content
    client.order_id = started["Location"].rsplit("/", 1)[1]  # type: ignore[attr-defined]
    client.get(started["Location"])
    client.csrf = client.cookies["csrftoken"].value  # type: ignore[attr-defined]
    return client


@pytest.fixture
def integrator(flight) -> tuple[str, str]:
    """An order made through the API: its id and token."""
    response = Client().post("/orders", {"flightID": flight.code}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["orderID"], response.json()["token"]


@pytest.fixture
def confirmed(flight, monkeypatch) -> str:
    """A booked order (it has a reference, so booking tokens are tried for it too): its id."""
    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)
    monkeypatch.setattr(queue, "enqueue_confirmation", lambda order_id: None)
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["3A"], actor="test")
    passenger = {"seat": "3A", "firstName": "Ada", "lastName": "Lovelace"}
    services.set_passengers(order_id=order.pk, passengers=[passenger], email="ada@example.com", actor="test")
    services.submit_payment(order_id=order.pk, code="12345", actor="test")
    ticket = start_payment_attempt(order_id=order.pk)
    assert ticket is not None
    finish_payment_attempt(order_id=order.pk, number=ticket.number, result=ChargeResult(True, AttemptOutcome.SUCCESS))
    return order.pk


def strings_and_arrays() -> Iterator[Any]:
    """Each malformed string, then arrays and objects where a string is expected, and other JSON types."""
    yield from MALFORMED
    yield from (["1A"], [], ["1A", "1A"], {"a": 1}, 12345, 1.5, True, None)


def test_page_forms_refuse_malformed_values_without_a_server_error(no_script, flight, tally):
    order = no_script.order_id
    forms: list[tuple[str, list[str]]] = [
        (f"/booking/{order}/seats", ["seats"]),
        (f"/booking/{order}/best", ["count", "zone"]),
        (f"/booking/{order}/passengers", ["seat", "first_name", "last_name", "email"]),
        (f"/booking/{order}/pay", ["code"]),
        ("/find-booking", ["reference", "last_name"]),
    ]
    for path, names in forms:
        for name in names:
            for value in MALFORMED:
                tally.check(no_script.post(path, {name: value}).status_code, "POST", path, {name: value})
            # The same field twice (a list), and many times over.
            for values in (["1A", "ZZ"], ["", ""], ["1A"] * 50, ["é", "\x00"]):
                tally.check(no_script.post(path, {name: values}).status_code, "POST", path, {name: values})
        every = dict.fromkeys(names, "\x00é")
        tally.check(no_script.post(path, every).status_code, "POST", path, every)
        # A body that is not UTF-8, raw and percent-encoded.
        for body in (b"\xff\xfe=\xff", f"{names[0]}=%FF%FE".encode(), f"{names[0]}=\xe9".encode("latin-1")):
            response = no_script.post(path, body, content_type="application/x-www-form-urlencoded")
            tally.check(response.status_code, "POST", path, body)
        # A form sent as JSON or as multipart with arrays in it.
        response = no_script.post(path, json.dumps({key: ["1A"] for key in names}), content_type="application/json")
        tally.check(response.status_code, "POST", path, "json body")
    for value in MALFORMED:
        for path in (f"/booking/{order}", f"/booking/{order}/receipt", "/find-booking", "/"):
            response = no_script.get(path, {"token": value, "reference": value})
            tally.check(response.status_code, "GET", path, value)
    tally.assert_no_server_errors()
    tally.assert_mostly(302, 400, 200)


def test_path_ids_that_cannot_exist_are_refused_without_a_server_error(flight, tally):
    page = Client(raise_request_exception=False, headers={"Accept": "text/html"})
    api = Client(raise_request_exception=False, headers={"Accept": "application/json"})
    for bad in BAD_IDS:
        for client in (page, api):
            for template in PAGE_POSTS + ORDER_PATHS + ["/book/{}"]:
                path = template.format(bad)
                tally.check(client.post(path, {}).status_code, "POST", path)
            for template in PAGE_READS + ORDER_READS + FLIGHT_READS + ["/book/{}"]:
                path = template.format(bad)
                tally.check(client.get(path).status_code, "GET", path)
                tally.check(client.get(path, {"token": "é"}).status_code, "GET", path, "?token=é")
        body = {"flightID": bad, "orderID": bad}
        tally.check(api.post("/orders", body, content_type="application/json").status_code, "POST", "/orders", body)
    tally.assert_no_server_errors()
    tally.assert_mostly(404)


def test_tokens_that_cannot_be_right_are_wrong_tokens(confirmed, flight, tally):
    order = confirmed
    client = Client(raise_request_exception=False)
    for value in [*MALFORMED, "é" * 40, "b-" + "é" * 64]:
        for path in [t.format(order) for t in ORDER_READS + PAGE_READS]:
            response = client.get(path, {"token": value})
            tally.check(response.status_code, "GET", path, f"?token={value}")
            response = client.get(path, headers={"Authorization": f"Bearer {value}"})
            tally.check(response.status_code, "GET", path, f"Bearer {value}")
        for path in [t.format(order) for t in ORDER_PATHS]:
            response = client.post(
                path, {}, content_type="application/json", headers={"Authorization": f"Bearer {value}"}
            )
            tally.check(response.status_code, "POST", path, f"Bearer {value}")
    tally.assert_no_server_errors()
    tally.assert_mostly(403)


def api_bodies(order: str, flight_code: str) -> Iterator[tuple[str, Any]]:
    """JSON bodies for every API change, one malformed value at a time."""
    for value in strings_and_arrays():
        yield "/orders", {"flightID": value}
        yield "/orders", {"flightID": flight_code, "orderID": value}
        yield f"/orders/{order}/seats", {"seats": [value]}
        yield f"/orders/{order}/seats", {"seats": value}
        yield f"/orders/{order}/seats", {"best": value}
        yield f"/orders/{order}/seats", {"best": 1, "zone": value}
        yield f"/orders/{order}/payment", {"code": value}
        yield f"/orders/{order}/passengers", {"passengers": [{"seat": value, "firstName": "A", "lastName": "B"}]}
        yield f"/orders/{order}/passengers", {"passengers": value, "email": value}
        yield "/bookings/find", {"reference": value, "lastName": value}
        yield "/bookings/find", {"reference": "K7MX3Q", "lastName": value}


RAW_BODIES = [
    b'{"seats": ["1A"], "seats": ["ZZ"]}',  # a duplicate key
    b'{"code": "12345", "code": "1"}',
    b'{"seats": ["1\xffA"]}',  # not UTF-8
    b"\xff\xfe{}",
    b'{"seats": ["1A\\u0000"]}',
    b'{"seats": ["\\ud800"]}',  # a lone surrogate
    b"[" * 5000,
    b"",
    b"null",
    b'"1A"',
]


def test_the_javascript_door_refuses_malformed_values_without_a_server_error(script, flight, tally):
    order = script.order_id
    headers = {"X-CSRFToken": script.csrf, "Accept": "application/json"}
    for path, body in api_bodies(order, flight.code):
        response = script.post(path, json.dumps(body), content_type="application/json", headers=headers)
        tally.check(response.status_code, "POST", path, body)
    for path in (f"/orders/{order}/seats", f"/orders/{order}/payment", f"/orders/{order}/passengers", "/orders"):
        for raw in RAW_BODIES:
            response = script.post(path, raw, content_type="application/json", headers=headers)
            tally.check(response.status_code, "POST", path, raw)
    tally.assert_no_server_errors()
    tally.assert_mostly(400)


@pytest.fixture(scope="module")
def application():
    return web_application()


@pytest.fixture
def lean(application):
    """A call through the web processes' WSGI application (the lean path's door): path already encoded."""

    def call(method: str, path: str, body: bytes, *, token: str) -> int:
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": unquote_to_bytes(path).decode("iso-8859-1"),  # as a WSGI server passes it
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
        }
        started: dict = {}

        def start_response(status, headers, exc_info=None):
            started["status"] = int(status.split()[0])

        # As Django's test client does: the test's connection outlives the request.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = application(environ, start_response)
            b"".join(response)
            response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return started["status"]

    return call


def test_the_integrators_door_and_the_lean_path_refuse_malformed_values_without_a_server_error(
    integrator, confirmed, flight, tally, lean
):
    order, token = integrator
    for path, body in api_bodies(order, flight.code):
        tally.check(lean("POST", path, json.dumps(body).encode(), token=token), "POST", path, body)
    for raw in RAW_BODIES:
        tally.check(lean("POST", f"/orders/{order}/seats", raw, token=token), "POST", f"/orders/{order}/seats", raw)
    for bad in BAD_IDS:
        seats = f"/orders/{bad}/seats"
        tally.check(lean("POST", seats, b'{"seats": ["1A"]}', token=token), "lean POST", seats)
        tally.check(lean("GET", f"/orders/{bad}/status", b"", token=token), "lean GET", f"/orders/{bad}/status")
    for value in ("é", "\x00", "b-" + "é" * 64, LONG):
        for path in (f"/orders/{confirmed}/status", f"/orders/{order}/status"):
            tally.check(lean("GET", path, b"", token=value), "lean GET", path, f"Bearer {value}")
        seats = f"/orders/{confirmed}/seats"
        tally.check(lean("POST", seats, b'{"seats": ["1A"]}', token=value), "lean POST", seats, f"Bearer {value}")
    tally.assert_no_server_errors()
    tally.assert_mostly(400)
