"""gzip (core/compression.py) for HTML and JSON, through a web process's own WSGI application (the lean path
included), and for nothing that must not be: an event stream (on the real server, each event at once), a
static file (whitenoise's own compressed copy, not compressed twice), an image."""

import gzip
import re

import pytest

from orders import inputs, services
from seatbooking.handlers import web_application
from tests.http import SSEStream, call, free_port, wait_for_server
from tests.pages.tools import long_flight
from tests.processes import Processes
from tests.wsgi_calls import wsgi_call

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


@pytest.fixture(scope="module")
def application():
    return web_application()


def both(application, path: str, **kwargs) -> tuple[tuple[int, dict[str, str], bytes], ...]:
    """The same GET without and with Accept-Encoding: gzip."""
    headers = kwargs.pop("headers", {})
    plain = wsgi_call(application, "GET", path, headers=headers, **kwargs)
    zipped = wsgi_call(application, "GET", path, headers={**headers, **GZIP}, **kwargs)
    return plain, zipped


def assert_gzipped_only_when_asked(plain, zipped) -> bytes:
    """The body, unzipped, once checked: plain unless asked, gzipped (and smaller) when asked."""
    (status, headers, content), (zstatus, zheaders, zcontent) = plain, zipped
    assert status == zstatus == 200
    assert "Content-Encoding" not in headers
    assert zheaders["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zheaders["Vary"] and "Accept-Encoding" in headers["Vary"]  # caches keep both apart
    assert int(zheaders["Content-Length"]) == len(zcontent) < len(content)
    assert zheaders["Content-Type"] == headers["Content-Type"]
    return gzip.decompress(zcontent)


@pytest.mark.django_db
def test_a_page_and_json_answers_are_gzipped_when_the_client_accepts_it(application, flight):
    page = assert_gzipped_only_when_asked(*both(application, "/"))
    assert b"<!doctype html>" in page and flight.code.encode() in page
    path = f"/flights/{long_flight().code}/available-seats"  # 180 seats: gzip pays off (not on a few bytes)
    seats = assert_gzipped_only_when_asked(*both(application, path, headers={"Accept": "application/json"}))
    assert b'"1A"' in seats


@pytest.mark.django_db(transaction=True)
def test_the_lean_paths_json_is_gzipped_too(application, flight, monkeypatch):
    from orders.api import OrderStatusView

    # DRF's view fails the test if it is called: the answer comes by the lean path (orders/hot_path.py).
    monkeypatch.setattr(OrderStatusView, "get", lambda self, request, order_id: pytest.fail("not the lean path"))
    order, token = services.create_order(flight_code=flight.code, actor="test")
    seats = [f"{row}{letter}" for row in (1, 2) for letter in "ABCD"]
    services.select_seats(order_id=order.pk, labels=seats, actor="test")
    # Named passengers: a status of about 1 KB (gzip is kept only where it is smaller, with its random padding).
    named = [{"seat": seat, "firstName": "Augusta Ada", "lastName": "King-Noel Lovelace"} for seat in seats]
    checked = inputs.passengers(given=named, email="ada@example.com")
    services.set_passengers(order_id=order.pk, passengers=checked.passengers, email=checked.email, actor="test")
    plain, zipped = both(application, f"/orders/{order.pk}/status", token=token, headers={"Accept": "application/json"})
    assert b'"SEATS_SELECTED"' in assert_gzipped_only_when_asked(plain, zipped)


@pytest.mark.django_db
def test_static_files_keep_whitenoises_own_compression_and_images_are_not_compressed(application, flight):
    _status, _headers, page = wsgi_call(application, "GET", "/")
    css = re.search(rb'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page)
    assert css, "the page names the stylesheet by its hashed name (make static)"
    _status, plain_headers, plain = wsgi_call(application, "GET", css.group(1).decode())
    _status, headers, content = wsgi_call(application, "GET", css.group(1).decode(), headers=GZIP)
    assert headers["Content-Encoding"] in ("gzip", "br") and "Content-Encoding" not in plain_headers
    if headers["Content-Encoding"] == "gzip":
        assert gzip.decompress(content) == plain  # once: not whitenoise's copy gzipped again
    icon = re.search(rb'href="(/static/favicon\.[0-9a-f]{12}\.ico)"', page)
    assert icon
    _status, headers, _content = wsgi_call(application, "GET", icon.group(1).decode(), headers=GZIP)
    assert "Content-Encoding" not in headers


@pytest.mark.django_db(transaction=True)
def test_an_event_stream_is_never_gzipped_and_each_event_arrives_at_once(tmp_path, settings, flight):
    """On the real server (uvicorn): with Accept-Encoding: gzip the stream is plain text, and a seat change's
    event arrives within a second (gzip would hold events back until its buffer fills)."""
    processes = Processes(tmp_path)
    try:
        processes.configure(settings, REDIS_URL="")
        port = free_port()
        processes.start_web(port)
        base = f"http://127.0.0.1:{port}"
        wait_for_server(base)
        _status, body = call(base, "POST", "/orders", {"flightID": flight.code})
        stream = SSEStream(base, f"/orders/{body['orderID']}/events?token={body['token']}", GZIP)
        assert stream.status == 200 and stream.content_type.startswith("text/event-stream")
        assert stream.response.getheader("Content-Encoding") is None
        assert stream.next().data["State"] == "PENDING"
        assert call(base, "POST", f"/orders/{body['orderID']}/seats", {"seats": ["1A"]}, body["token"])[0] == 200
        assert stream.next(timeout=1.0).data["Seats"] == ["1A"]
        stream.close()
    finally:
        processes.kill_all()
