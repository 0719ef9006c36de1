"""An order's event stream opens with a short-lived signed ticket instead of the long-lived token in its URL:
POST /orders/{id}/events/ticket (with the token, the session or staff) gives one; it opens that order's
stream for STREAM_TICKET_SECONDS (60) and a stream once open stays open. A ticket of another order, a
tampered or an old one gets a 403 saying what to do. `?token=` keeps working for clients of the original
(tests/api/test_original_contract.py) and the pages' script uses the session. Against a real server."""

import datetime as dt
import json
import time

import pytest
from django.core import signing
from django.utils import timezone

from orders.access import stream_ticket
from orders.models import Order
from tests.http import SSEStream, call, free_port, wait_for_server
from tests.processes import Processes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(transactional_db, tmp_path, settings, flight):
    processes = Processes(tmp_path)
    port = free_port()
    processes.start_web(port)
    base = f"http://127.0.0.1:{port}"
    wait_for_server(base)
    yield base
    processes.kill_all()


def new_order(base: str) -> tuple[str, str]:
    status, body = call(base, "POST", "/orders", {"flightID": "FL-001"})
    assert status == 201, body
    return body["orderID"], body["token"]


def refused(base: str, path: str) -> tuple[int, dict]:
    stream = SSEStream(base, path)
    body = stream.response.read().decode()
    stream.close()
    return stream.status, json.loads(body)


def test_a_ticket_opens_the_orders_stream_and_the_stream_outlives_it(server, settings):
    order_id, token = new_order(server)
    status, answer = call(server, "POST", f"/orders/{order_id}/events/ticket", {}, token)
    assert status == 200, answer
    assert answer["expiresIn"] == 60 and answer["url"] == f"/orders/{order_id}/events?ticket={answer['ticket']}"
    assert token not in answer["url"]
    stream = SSEStream(server, answer["url"])
    assert stream.status == 200 and stream.response.getheader("Cache-Control") == "no-store"
    assert stream.next().data["OrderID"] == order_id
    assert call(server, "POST", f"/orders/{order_id}/seats", {"seats": ["1A"]}, token)[0] == 200
    assert stream.next(timeout=2).data["Seats"] == ["1A"]  # the stream goes on: it was opened in time
    stream.close()


def test_a_ticket_needs_the_order_and_opens_no_other(server):
    order_id, token = new_order(server)
    other_id, _other_token = new_order(server)
    assert call(server, "POST", f"/orders/{order_id}/events/ticket", {})[0] == 403  # no token, no ticket
    ticket = call(server, "POST", f"/orders/{order_id}/events/ticket", {}, token)[1]["ticket"]
    status, body = refused(server, f"/orders/{other_id}/events?ticket={ticket}")
    assert (status, body["code"]) == (403, "wrong_stream_ticket"), body
    status, body = refused(server, f"/orders/{order_id}/events?ticket={ticket[:-2]}xx")
    assert (status, body["code"]) == (403, "wrong_stream_ticket"), body
    assert "POST /orders/" in body["error"]


def test_an_old_ticket_is_refused_with_what_to_do(server, monkeypatch):
    order_id, _token = new_order(server)
    # A ticket issued 61 s ago (the server shares the test's SECRET_KEY): as if its holder waited too long.
    issued = time.time() - 61
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(int(issued)))
    old = stream_ticket(order_id)
    status, body = refused(server, f"/orders/{order_id}/events?ticket={old}")
    assert (status, body["code"]) == (403, "stream_ticket_expired"), body
    assert "60 s" in body["error"] and "events/ticket" in body["error"]
    issued = time.time() - 50  # the control (the patched clock reads `issued`): 50 s old still opens
    fresh = SSEStream(server, f"/orders/{order_id}/events?ticket={stream_ticket(order_id)}")
    assert fresh.status == 200
    fresh.close()


def test_the_original_clients_token_still_opens_the_stream_unless_it_has_ended(server):
    order_id, token = new_order(server)
    stream = SSEStream(server, f"/orders/{order_id}/events?token={token}")
    assert stream.status == 200 and stream.next().data["OrderID"] == order_id
    stream.close()
    assert call(server, "POST", f"/orders/{order_id}/cancel", {}, token)[0] == 200
    Order.objects.filter(pk=order_id).update(updated_at=timezone.now() - dt.timedelta(days=2))
    status, body = refused(server, f"/orders/{order_id}/events?token={token}")
    assert (status, body["code"]) == (403, "token_expired"), body
    assert call(server, "POST", f"/orders/{order_id}/events/ticket", {}, token)[0] == 403
