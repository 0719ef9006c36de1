"""A paid booking over the API, with the calls integrators know: POST /orders/{id}/seats asks for a seat
change, POST /orders/{id}/cancel cancels (all seats, or `seats`), and the status carries Change and Refund.
Through the web processes' own WSGI application (the lean path included), with a worker's tasks run at once."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from flights.services import create_flight
from orders import queue, tasks
from orders.gateway_ledger_sql import Ledger
from tests.paid_bookings import two_zone_flight

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def gateway(settings, tmp_path, monkeypatch):
    settings.PAYMENT_GATEWAY_LEDGER = str(tmp_path / "gateway-ledger.sqlite3")
    settings.PAYMENT_LATENCY_SECONDS = 0.002
    settings.PAYMENT_FAILURE_RATE = 0.0
    settings.REFUND_FAILURE_RATE = 0.0
    settings.PAYMENT_BACKOFF_INITIAL_SECONDS = 0
    settings.PAYMENT_BACKOFF_MAX_SECONDS = 0
    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: [tasks.process_payment(order_id) for _ in range(3)])
    monkeypatch.setattr(queue, "enqueue_money", lambda kind, pk: [tasks.process_money(kind, pk) for _ in range(3)])
    monkeypatch.setattr(queue, "enqueue_confirmation", lambda order_id: None)
    monkeypatch.setattr(queue, "enqueue_notice", lambda notice_id: None)
    return Ledger(settings.PAYMENT_GATEWAY_LEDGER)


@pytest.fixture
def booking(db, call):
    """A CONFIRMED booking of 4A, 4B (200.00) made over the API; (order id, token)."""
    two_zone_flight(code="FL-401")
    created = call("POST", "/orders", {"flightID": "FL-401"})
    order_id, token = created.body["orderID"], created.body["token"]
    assert call("POST", f"/orders/{order_id}/seats", {"seats": ["4A", "4B"]}, token=token).status == 200
    assert call("POST", f"/orders/{order_id}/payment", {"code": "12345"}, token=token).status == 202
    assert call("GET", f"/orders/{order_id}/status", token=token).body["State"] == "CONFIRMED"
    return order_id, token


def test_a_dearer_change_asks_for_the_code_then_is_charged_once(call, booking, gateway):
    order_id, token = booking
    refused = call("POST", f"/orders/{order_id}/seats", {"seats": ["1A", "1B"]}, token=token)
    assert refused.status == 409 and refused.body["code"] == "payment_code_required"
    assert refused.body["difference"] == "100.00"
    changed = call("POST", f"/orders/{order_id}/seats", {"seats": ["1A", "1B"], "code": "54321"}, token=token)
    assert changed.status == 200 and changed.body["status"] == "seats updated"
    status = call("GET", f"/orders/{order_id}/status", token=token).body
    assert (status["State"], status["Seats"], status["Total"]) == ("CONFIRMED", ["1A", "1B"], "300.00")
    assert status["Change"]["State"] == "DONE" and status["Refund"] is None
    assert gateway.charges(order_id) == 2


def test_a_cheaper_change_on_the_lean_path_is_refunded_once(call, booking, gateway):
    order_id, token = booking
    changed = call("POST", f"/orders/{order_id}/seats", {"seats": ["5C", "4B"]}, token=token)
    assert changed.status == 200 and changed.body["Seats"] == ["4B", "5C"]
    assert changed.body["Change"]["State"] == "DONE"
    status = call("GET", f"/orders/{order_id}/status", token=token).body
    assert status["Refund"] is None or status["Refund"]["Amount"] == "0.00"  # the same price: nothing back
    assert gateway.refunds(order_id) == []


def test_cancel_refunds_by_the_policy_and_frees_the_seats(call, booking, gateway):
    order_id, token = booking
    partial = call("POST", f"/orders/{order_id}/cancel", {"seats": ["4B"]}, token=token)
    assert partial.status == 200 and (partial.body["State"], partial.body["Seats"]) == ("CONFIRMED", ["4A"])
    whole = call("POST", f"/orders/{order_id}/cancel", token=token)
    assert whole.status == 200 and whole.body["State"] == "CANCELLED"
    status = call("GET", f"/orders/{order_id}/status", token=token).body
    assert status["Refund"]["State"] == "PAID" and status["Refund"]["Amount"] == "100.00"
    assert gateway.refunds(order_id) == [Decimal("100.00"), Decimal("100.00")]
    available = call("GET", "/flights/FL-401/available-seats").body["available"]
    assert {"4A", "4B"} <= set(available)
    again = call("POST", f"/orders/{order_id}/cancel", token=token)
    assert again.status == 409 and again.body["code"] == "wrong_state"


def test_bad_requests_are_clear_4xx(call, booking):
    order_id, token = booking
    cases = [
        ({"seats": ["4A"]}, 400, "seat_count_differs"),
        ({"seats": ["1A", "1B"], "code": "12"}, 400, None),
        ({"best": 2, "code": "12345"}, 400, None),
    ]
    for body, status, code in cases:
        answer = call("POST", f"/orders/{order_id}/seats", body, token=token)
        assert answer.status == status, (body, answer.body)
        assert code is None or answer.body["code"] == code
    unknown = call("POST", f"/orders/{order_id}/cancel", {"seats": ["6D"]}, token=token)
    assert unknown.status == 400 and unknown.body["code"] == "not_booked_seats"
    created = call("POST", "/orders", {"flightID": "FL-401"})
    unpaid = call("POST", f"/orders/{created.body['orderID']}/cancel", {"seats": ["1A"]}, token=created.body["token"])
    assert unpaid.status == 409 and unpaid.body["code"] == "not_booked"


def test_a_plain_cancel_of_an_unpaid_order_is_unchanged(call, db):
    create_flight(
        code="FL-402",
        origin="A",
        destination="B",
        departs_at=timezone.now() + dt.timedelta(days=1),
        rows=2,
        letters="AB",
    )
    created = call("POST", "/orders", {"flightID": "FL-402"})
    order_id, token = created.body["orderID"], created.body["token"]
    call("POST", f"/orders/{order_id}/seats", {"seats": ["1A"]}, token=token)
    cancelled = call("POST", f"/orders/{order_id}/cancel", token=token)
    assert cancelled.status == 200 and cancelled.body["State"] == "CANCELLED"
    assert cancelled.body["Change"] is None and cancelled.body["Refund"] is None


def test_a_change_declined_three_times_leaves_the_booking_as_it_was(call, booking, gateway, settings):
    order_id, token = booking
    settings.PAYMENT_FAILURE_RATE = 1.0
    asked = call("POST", f"/orders/{order_id}/seats", {"seats": ["1A", "4B"], "code": "54321"}, token=token)
    assert asked.status == 200
    status = call("GET", f"/orders/{order_id}/status", token=token).body
    assert (status["State"], status["Seats"], status["Total"]) == ("CONFIRMED", ["4A", "4B"], "200.00")
    assert status["Change"]["State"] == "UNDONE" and status["Change"]["LastError"].startswith("Failed after 3 tries")
    assert gateway.charges(order_id) == 1
    assert "1A" in call("GET", "/flights/FL-401/available-seats").body["available"]


def test_a_cancellation_after_the_full_refund_window_keeps_the_fee(call, booking, gateway, settings):
    order_id, token = booking
    settings.REFUND_FULL_WINDOW_SECONDS = -1  # the window closed the moment the booking was confirmed
    cancelled = call("POST", f"/orders/{order_id}/cancel", token=token)
    assert cancelled.status == 200
    refund = call("GET", f"/orders/{order_id}/status", token=token).body["Refund"]
    assert (refund["Amount"], refund["Fee"], refund["State"]) == ("160.00", "40.00", "PAID")
    assert gateway.refunds(order_id) == [Decimal("160.00")]


def test_a_form_naming_seats_is_refused_and_cancels_nothing(call, booking):
    order_id, token = booking
    form = call(
        "POST",
        f"/orders/{order_id}/cancel",
        raw=b"seats=4A",
        token=token,
        content_type="application/x-www-form-urlencoded",
    )
    assert form.status == 415 and "JSON" in form.body["error"]
    assert call("GET", f"/orders/{order_id}/status", token=token).body["Seats"] == ["4A", "4B"]


def test_a_cancel_naming_seats_is_read_as_json_whatever_its_type_and_each_seat_once(call, booking, gateway):
    order_id, token = booking
    repeated = call("POST", f"/orders/{order_id}/cancel", {"seats": ["4A", "4A"]}, token=token)
    assert repeated.status == 400 and repeated.body["code"] == "duplicate_seats"
    malformed = call("POST", f"/orders/{order_id}/cancel", {"seats": ["ZZ"]}, token=token)
    assert malformed.status == 400
    plain = call("POST", f"/orders/{order_id}/cancel", raw=b'{"seats": ["4A"]}', token=token, content_type="text/plain")
    assert plain.status == 200 and plain.body["Seats"] == ["4B"]
    assert gateway.refunds(order_id) == [Decimal("100.00")]


def test_a_change_to_a_seat_the_flight_has_not_is_refused_before_any_price(call, booking):
    order_id, token = booking
    answer = call("POST", f"/orders/{order_id}/seats", {"seats": ["4A", "9D"]}, token=token)
    assert answer.status == 400 and answer.body["code"] == "unknown_seats" and answer.body["seats"] == ["9D"]


def test_a_cancel_body_that_is_not_an_object_is_refused(call, booking):
    order_id, token = booking
    for raw in (b"null", b"[]", b"0", b'""', b"false"):
        answer = call("POST", f"/orders/{order_id}/cancel", raw=raw, token=token)
        assert answer.status == 400, (raw, answer.body)
    assert call("GET", f"/orders/{order_id}/status", token=token).body["State"] == "CONFIRMED"
    assert call("POST", f"/orders/{order_id}/cancel", raw=b"{}", token=token).body["State"] == "CANCELLED"
