import pytest
from django.contrib.auth.models import User
from django.test import Client

from inventory.models import SeatHold
from orders.access import SESSION_KEY
from orders.models import AuditEntry, Order
from tests.conftest import bearer

pytestmark = pytest.mark.django_db

STATUS_KEYS = {
    "OrderID",
    "FlightID",
    "State",
    "Seats",
    "HoldExpiresAt",
    "AttemptsLeft",
    "LastPaymentErr",
    "PaymentStatus",
}


def post(api, path, body, token=None, **extra):
    return api.post(path, body, format="json", **(bearer(token) if token else {}), **extra)


def assert_error(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body["error"], str) and len(body["error"]) > 10
    if code:
        assert body["code"] == code, body
    return body


# --- the contract's happy path -------------------------------------------------------------------


def test_create_order_returns_id_flight_and_token(api, flight):
    response = post(api, "/orders", {"flightID": "FL-001", "orderID": "o-1"})
    assert response.status_code == 201
    body = response.json()
    assert body["orderID"] == "o-1" and body["flightID"] == "FL-001" and len(body["token"]) >= 40


def test_create_order_without_order_id_gets_a_server_made_one(api, flight):
    body = post(api, "/orders", {"flightID": "FL-001"}).json()
    assert body["orderID"].startswith("o-") and len(body["orderID"]) >= 20


def test_select_seats_status_and_cancel(api, new_order):
    order_id, token = new_order("o-1")
    response = post(api, f"/orders/{order_id}/seats", {"seats": ["1A", "1B"]}, token)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "seats updated"
    assert body.keys() >= STATUS_KEYS
    assert body["State"] == "SEATS_SELECTED" and body["Seats"] == ["1A", "1B"]
    assert body["HoldExpiresAt"].endswith("Z") and body["AttemptsLeft"] == 3

    status = api.get(f"/orders/{order_id}/status", **bearer(token)).json()
    assert status == {k: v for k, v in body.items() if k != "status"}

    cancelled = post(api, f"/orders/{order_id}/cancel", {}, token)
    assert cancelled.status_code == 200
    assert cancelled.json()["State"] == "CANCELLED" and cancelled.json()["Seats"] == []


def test_seat_labels_are_exactly_as_the_schema_says(api, new_order):
    """The schema's pattern is the server's check: no quiet repair of " 1a" that the schema would not admit."""
    order_id, token = new_order()
    response = post(api, f"/orders/{order_id}/seats", {"seats": [" 1a", "2B"]}, token)
    assert (
        response.status_code == 400 and "' 1a'" in response.json()["error"] and "like 12C" in response.json()["error"]
    )
    assert api.get("/flights/FL-001/available-seats").json()["held"] == []


def test_a_seat_taken_by_another_order_is_a_409_naming_it(api, new_order):
    first_id, first_token = new_order()
    second_id, second_token = new_order()
    post(api, f"/orders/{first_id}/seats", {"seats": ["1A", "1B"]}, first_token)
    body = assert_error(
        post(api, f"/orders/{second_id}/seats", {"seats": ["1B", "1C"]}, second_token), 409, "seats_taken"
    )
    assert body["seats"] == ["1B"] and "1B" in body["error"]


def test_flight_availability_follows_holds(api, new_order):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A", "2F"]}, token)
    body = api.get("/flights/FL-001/available-seats").json()
    assert body["flightID"] == "FL-001" and body["total"] == 30
    assert body["held"] == ["1A", "2F"] and body["confirmed"] == []
    assert len(body["available"]) == 28 and "1A" not in body["available"]
    post(api, f"/orders/{order_id}/seats", {"seats": []}, token)
    assert api.get("/flights/FL-001/available-seats").json()["held"] == []


# --- bad input: a 4xx JSON error that says what to do, and nothing written ------------------------


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ('{"flightID": ', 400, "malformed_json"),
        ("[1, 2]", 400, "invalid"),
        ('{"flightID": 5}', 400, "invalid"),  # a string, as the schema says; not 5 read as "5"
        ('{"flightID": ["F"]}', 400, "invalid"),
        ("{}", 400, "invalid"),
        ('{"flightID": "NOPE"}', 404, "unknown_flight"),
        ('{"flightID": "FL-001", "orderID": "has space"}', 400, "invalid"),
        ('{"flightID": "FL-001", "orderID": "' + "x" * 65 + '"}', 400, "invalid"),
    ],
)
def test_create_order_bad_input(api, flight, body, status, code):
    response = api.post("/orders", body, content_type="application/json")
    assert_error(response, status, code)
    assert Order.objects.count() == 0


def test_create_order_with_a_taken_id_is_409(api, new_order):
    new_order("o-1")
    assert_error(post(api, "/orders", {"flightID": "FL-001", "orderID": "o-1"}), 409, "order_id_taken")


def test_a_create_repeated_in_the_same_browser_session_answers_as_the_first_did(flight):
    """A page that creates its order twice (React's development mode does) is told the same answer; the
    token, derived from the session, opens the order. Another session, or none, gets the 409."""
    browser = Client()
    browser.session.save()  # a browser that has a session (the test client sets its cookie)
    body = {"flightID": "FL-001", "orderID": "o-1"}
    first = browser.post("/orders", body, content_type="application/json")
    again = browser.post("/orders", body, content_type="application/json")
    assert (first.status_code, again.status_code) == (201, 201) and first.json() == again.json()
    assert Order.objects.count() == 1 and AuditEntry.objects.filter(order_id="o-1").count() == 1
    token = first.json()["token"]
    assert Client().get("/orders/o-1/status", **bearer(token)).status_code == 200
    assert_error(Client().post("/orders", body, content_type="application/json"), 409, "order_id_taken")
    other = Client()
    other.session.save()
    assert_error(other.post("/orders", body, content_type="application/json"), 409, "order_id_taken")


def test_create_order_needs_json(api, flight):
    assert_error(
        api.post("/orders", "flightID=FL-001", content_type="application/x-www-form-urlencoded"),
        415,
        "unsupported_media_type",
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"seats": ', "malformed_json"),
        ('{"seats": "1A"}', "invalid"),
        ('{"seats": [1]}', "invalid"),
        ('{"seats": ["A1"]}', "invalid"),
        ("{}", "invalid"),
        ('{"seats": ["1A", "1A"]}', "duplicate_seats"),
        ('{"seats": ["9A"]}', "unknown_seats"),
        ('{"seats": ["1A","1B","1C","1D","1E","1F","2A","2B","2C","2D"]}', "too_many_seats"),
        ('{"seat": ["1A"]}', "invalid"),
        ('{"seats": ["1A"], "hold": "forever"}', "invalid"),
    ],
)
def test_select_seats_bad_input_is_400_and_changes_nothing(api, new_order, body, code):
    order_id, token = new_order()
    response = api.post(f"/orders/{order_id}/seats", body, content_type="application/json", **bearer(token))
    assert_error(response, 400, code)
    assert SeatHold.objects.count() == 0
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["create"]


def test_select_seats_in_a_wrong_state_is_409(api, new_order):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/cancel", {}, token)
    body = assert_error(post(api, f"/orders/{order_id}/seats", {"seats": ["1A"]}, token), 409, "wrong_state")
    assert "CANCELLED" in body["error"]


def test_unknown_path_is_a_json_404(api, db):
    assert_error(api.get("/no/such/thing"), 404, "no_such_path")


# --- ownership -----------------------------------------------------------------------------------

ORDER_CALLS = [
    ("post", "/orders/{id}/seats", {"seats": ["1A"]}),
    ("get", "/orders/{id}/status", None),
    ("post", "/orders/{id}/cancel", {}),
    ("post", "/orders/{id}/payment", {"code": "12345"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ORDER_CALLS)
def test_order_endpoints_refuse_missing_wrong_and_other_tokens_without_leaking(api, new_order, method, path, body):
    order_id, token = new_order()
    _other_id, other_token = new_order()
    url = path.format(id=order_id)
    for headers in ({}, bearer("not-the-token"), bearer(other_token)):
        response = getattr(api, method)(url, body, format="json", **headers)
        error = assert_error(response, 403)
        assert order_id not in str(error) and "State" not in error
    unknown = getattr(api, method)(path.format(id="o-does-not-exist"), body, format="json", **bearer(token))
    assert_error(unknown, 404, "unknown_order")
    assert SeatHold.objects.count() == 0
    assert Order.objects.get(pk=order_id).state == "PENDING"


def test_token_in_query_string_works_for_reads_only(api, new_order):
    order_id, token = new_order()
    assert api.get(f"/orders/{order_id}/status?token={token}").status_code == 200
    assert_error(api.post(f"/orders/{order_id}/cancel?token={token}", {}, format="json"), 403)


def test_the_creating_session_reaches_the_order_with_csrf(new_order):
    order_id, _token = new_order()
    browser = Client(enforce_csrf_checks=True)
    session = browser.session
    session[SESSION_KEY] = [order_id]
    session.save()
    assert browser.get(f"/orders/{order_id}/status").status_code == 200
    # A change made on the strength of a cookie needs the CSRF token.
    no_csrf = browser.post(f"/orders/{order_id}/seats", {"seats": ["1A"]}, content_type="application/json")
    assert_error(no_csrf, 403, "csrf_failed")
    browser.get("/admin/login/")  # any page that sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    ok = browser.post(
        f"/orders/{order_id}/seats", {"seats": ["1A"]}, content_type="application/json", HTTP_X_CSRFTOKEN=csrf
    )
    assert ok.status_code == 200 and ok.json()["Seats"] == ["1A"]
    assert AuditEntry.objects.filter(order_id=order_id, action="select_seats").get().actor == "session@127.0.0.1"


def test_staff_reach_any_order_and_are_named_in_the_audit(api, new_order):
    order_id, _token = new_order()
    staff = User.objects.create_user("ops", password="x", is_staff=True)
    api.force_authenticate(staff)
    assert api.get(f"/orders/{order_id}/status").status_code == 200
    assert post(api, f"/orders/{order_id}/cancel", {}).status_code == 200
    assert AuditEntry.objects.filter(order_id=order_id, action="cancel").get().actor == "staff:ops@127.0.0.1"
    plain = User.objects.create_user("someone", password="x")
    api.force_authenticate(plain)
    assert_error(api.get(f"/orders/{order_id}/status"), 403)


def test_a_lapsed_hold_is_taken_by_another_order_over_http(api, new_order, settings):
    """The boundary, with a 1 s hold: from the deadline on the seat is free and the first order is over."""
    import time

    settings.SEAT_HOLD_SECONDS = 1
    first_id, first_token = new_order()
    second_id, second_token = new_order()
    assert post(api, f"/orders/{first_id}/seats", {"seats": ["1A"]}, first_token).status_code == 200
    assert_error(post(api, f"/orders/{second_id}/seats", {"seats": ["1A"]}, second_token), 409, "seats_taken")
    time.sleep(1.05)
    assert api.get(f"/orders/{first_id}/status", **bearer(first_token)).json()["State"] == "EXPIRED"
    assert "1A" in api.get("/flights/FL-001/available-seats").json()["available"]
    assert post(api, f"/orders/{second_id}/seats", {"seats": ["1A"]}, second_token).json()["Seats"] == ["1A"]
    body = assert_error(post(api, f"/orders/{first_id}/payment", {"code": "12345"}, first_token), 409, "hold_expired")
    assert "Create a new order" in body["error"]
    # Once expired (here by the failed payment call), every change gets the same answer.
    assert_error(post(api, f"/orders/{first_id}/seats", {"seats": ["1A"]}, first_token), 409, "hold_expired")
    assert api.get(f"/orders/{first_id}/status", **bearer(first_token)).json()["State"] == "EXPIRED"
    assert api.get(f"/orders/{second_id}/status", **bearer(second_token)).json()["Seats"] == ["1A"]


# --- payment ---------------------------------------------------------------------------------------


@pytest.fixture
def no_workers(monkeypatch):
    from orders import queue

    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)


def test_payment_is_accepted_with_202_and_then_refused_while_processing(api, new_order, no_workers):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A"]}, token)
    response = post(api, f"/orders/{order_id}/payment", {"code": "12345"}, token)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "payment submitted" and body["State"] == "PROCESSING_PAYMENT"
    assert body["PaymentStatus"] == "trying" and body["Seats"] == ["1A"]
    assert_error(post(api, f"/orders/{order_id}/payment", {"code": "12345"}, token), 409, "wrong_state")
    assert_error(post(api, f"/orders/{order_id}/seats", {"seats": ["1B"]}, token), 409, "wrong_state")
    assert_error(post(api, f"/orders/{order_id}/cancel", {}, token), 409, "wrong_state")


@pytest.mark.parametrize(
    "body",
    [
        '{"code": 12345}',
        '{"code": "1234"}',
        '{"code": "123456"}',
        '{"code": "12a45"}',
        '{"code": null}',
        "{}",
        '{"code": ',
    ],
)
def test_a_bad_payment_code_is_400_and_uses_no_attempt(api, new_order, no_workers, body):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A"]}, token)
    response = api.post(f"/orders/{order_id}/payment", body, content_type="application/json", **bearer(token))
    assert_error(response, 400)
    order = Order.objects.get(pk=order_id)
    assert (order.state, order.payment_attempts_used) == ("SEATS_SELECTED", 0)


def test_paying_without_seats_is_409(api, new_order, no_workers):
    order_id, token = new_order()
    body = assert_error(post(api, f"/orders/{order_id}/payment", {"code": "12345"}, token), 409, "wrong_state")
    assert "Select seats" in body["error"]


def test_paying_after_the_hold_lapsed_is_409_and_the_order_is_expired(api, new_order, no_workers, settings):
    import time

    settings.SEAT_HOLD_SECONDS = 0.3
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A"]}, token)
    time.sleep(0.35)
    assert_error(post(api, f"/orders/{order_id}/payment", {"code": "12345"}, token), 409, "hold_expired")
    assert api.get(f"/orders/{order_id}/status", **bearer(token)).json()["State"] == "EXPIRED"


@pytest.mark.parametrize(
    "body", ['{"seats": ' + "[" * 5000 + "]" * 5000 + "}", '{"flightID": "' + "x" * 3_000_000 + '"}']
)
def test_pathological_bodies_get_a_json_4xx(api, new_order, body):
    order_id, token = new_order()
    response = api.post(f"/orders/{order_id}/seats", body, content_type="application/json", **bearer(token))
    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json") and response.json()["error"]


def test_a_wrong_method_or_host_gets_json(api, new_order, settings):
    order_id, token = new_order()
    for path in (f"/orders/{order_id}/events", "/flights/FL-001/events", "/orders"):
        response = api.delete(path, **bearer(token))
        assert response.status_code == 405 and response.json()["error"], path
    response = api.get("/flights", HTTP_HOST="evil.example")
    assert response.status_code == 400 and "evil.example" in response.json()["error"]


def test_an_unknown_field_is_named_in_the_error(api, new_order):
    order_id, token = new_order()
    body = assert_error(post(api, f"/orders/{order_id}/seats", {"seats": ["1A"], "seet": 1}, token), 400, "invalid")
    assert "Unknown field(s): seet" in body["error"] and "Expected: seats" in body["error"]
    assert SeatHold.objects.count() == 0
