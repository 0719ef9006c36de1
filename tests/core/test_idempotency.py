"""Idempotency-Key on POST /orders and POST /orders/{id}/payment."""

import threading
import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

from orders import queue, services, tasks
from orders.models import AuditEntry, Order, PaymentAttempt
from tests.conftest import bearer


@pytest.fixture
def no_workers(monkeypatch):
    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)


KEY = "pay-0f6c1e9a-4b7d-4d62"
CREATE_KEY = "create-7d1c9e0b-3a55-46c2"


def pay(api, order_id, token, code="12345", key=KEY):
    return api.post(
        f"/orders/{order_id}/payment", {"code": code}, format="json", HTTP_IDEMPOTENCY_KEY=key, **bearer(token)
    )


@pytest.mark.django_db
def test_creating_twice_with_one_key_makes_one_order(api, flight):
    first = api.post("/orders", {"flightID": "FL-001"}, format="json", HTTP_IDEMPOTENCY_KEY=CREATE_KEY)
    again = api.post("/orders", {"flightID": "FL-001"}, format="json", HTTP_IDEMPOTENCY_KEY=CREATE_KEY)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    other = api.post(
        "/orders", {"flightID": "FL-001", "orderID": "o-x"}, format="json", HTTP_IDEMPOTENCY_KEY=CREATE_KEY
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_a_replayed_payment_makes_no_new_attempt(api, new_order, no_workers, settings):
    settings.PAYMENT_FAILURE_RATE, settings.PAYMENT_LATENCY_SECONDS = 0, 0.01
    order_id, token = new_order()
    api.post(f"/orders/{order_id}/seats", {"seats": ["1A"]}, format="json", **bearer(token))
    first = pay(api, order_id, token)
    assert first.status_code == 202
    tasks.process_payment(order_id)
    again = pay(api, order_id, token)
    assert again.status_code == 202 and again.json() == first.json()  # the first answer, not a 409
    assert PaymentAttempt.objects.filter(order_id=order_id).count() == 1
    assert AuditEntry.objects.filter(order_id=order_id, action="submit_payment").count() == 1
    assert pay(api, order_id, token, code="54321").status_code == 422
    without_key = api.post(f"/orders/{order_id}/payment", {"code": "12345"}, format="json", **bearer(token))
    assert without_key.status_code == 409  # no key, no replay: the state machine answers


@pytest.mark.django_db
def test_a_refusal_is_replayed_too_and_a_key_opens_nothing(api, new_order, no_workers):
    order_id, token = new_order()
    refused = pay(api, order_id, token)  # no seats yet
    assert refused.status_code == 409
    assert pay(api, order_id, token).json() == refused.json()
    _other_id, other_token = new_order()
    assert pay(api, order_id, other_token).status_code == 403  # the same key with someone else's token


@pytest.mark.django_db
def test_a_key_must_be_reasonable(api, flight):
    response = api.post("/orders", {"flightID": "FL-001"}, format="json", HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert response.status_code == 400 and response.json()["code"] == "bad_idempotency_key"


@pytest.mark.django_db
def test_a_short_key_is_refused_on_both_endpoints(api, new_order, no_workers):
    order_id, token = new_order()
    api.post(f"/orders/{order_id}/seats", {"seats": ["1A"]}, format="json", **bearer(token))
    for short in ("k-1", "x" * 15):
        created = api.post("/orders", {"flightID": "FL-001"}, format="json", HTTP_IDEMPOTENCY_KEY=short)
        paid = pay(api, order_id, token, key=short)
        for response in (created, paid):
            assert response.status_code == 400, response.content
            assert response.json()["code"] == "bad_idempotency_key" and "UUID" in response.json()["error"]
    assert Order.objects.count() == 1 and Order.objects.get().state == "SEATS_SELECTED"  # nothing was done
    assert pay(api, order_id, token, key="x" * 16).status_code == 202


def _whole_rows() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_to_json(r)::text FROM seatbooking_idempotencyrecord r"
            if connection.vendor == "postgresql"
            else "SELECT * FROM seatbooking_idempotencyrecord r"
        )
        return [str(row) for row in cursor.fetchall()]


@pytest.mark.django_db
def test_no_token_or_key_is_stored_and_a_replay_still_gets_a_working_token(api, flight):
    first = api.post("/orders", {"flightID": "FL-001"}, format="json", HTTP_IDEMPOTENCY_KEY=CREATE_KEY)
    assert first.status_code == 201
    order_id, token = first.json()["orderID"], first.json()["token"]
    rows = _whole_rows()
    assert len(rows) == 1
    assert token not in rows[0] and CREATE_KEY not in rows[0], rows[0]
    again = APIClient().post("/orders", {"flightID": "FL-001"}, format="json", HTTP_IDEMPOTENCY_KEY=CREATE_KEY)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()  # the same token, derived again from the key
    status = APIClient().get(f"/orders/{order_id}/status", **bearer(again.json()["token"]))
    assert status.status_code == 200 and status.json()["OrderID"] == order_id
    assert token not in "".join(_whole_rows())
    # the same key on another order id derives another token: a token is bound to its order
    other = APIClient().post(
        "/orders", {"flightID": "FL-001", "orderID": "o-other"}, format="json", HTTP_IDEMPOTENCY_KEY=CREATE_KEY + "-2"
    )
    assert other.status_code == 201 and other.json()["token"] != token
    assert APIClient().get(f"/orders/{order_id}/status", **bearer(other.json()["token"])).status_code == 403


def _pay_twice_at_once(flight, monkeypatch, seconds: float) -> list:
    order, token = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    slow_submit = services.submit_payment

    def submit_slowly(**kwargs):  # widen the window so that the two requests overlap
        time.sleep(seconds)
        return slow_submit(**kwargs)

    monkeypatch.setattr(services, "submit_payment", submit_slowly)
    responses, start = [], threading.Barrier(2)

    def client():
        try:
            start.wait()
            responses.append(pay(APIClient(), order.pk, token, key="same-key-for-both-0123"))
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert AuditEntry.objects.filter(order_id=order.pk, action="submit_payment").count() == 1
    return sorted(responses, key=lambda r: (r.status_code, r.has_header("Idempotent-Replayed")))


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_waits_then_replays_and_pays_once(flight, no_workers, monkeypatch):
    first, second = _pay_twice_at_once(flight, monkeypatch, seconds=0.5)
    assert first.status_code == second.status_code == 202, (first.content, second.content)
    assert second["Idempotent-Replayed"] == "true" and first.json() == second.json()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_is_a_409_once_the_wait_bound_runs_out(flight, no_workers, monkeypatch, settings):
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.2
    first, second = _pay_twice_at_once(flight, monkeypatch, seconds=1.5)
    assert (first.status_code, second.status_code) == (202, 409), (first.content, second.content)
    assert second.json()["code"] == "idempotency_key_in_use" and int(second["Retry-After"]) >= 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_hung_first_request_loses_its_claim_after_the_lease(flight, no_workers, settings):
    order, token = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    # the first request hangs (alive) between its change and its commit for longer than its lease
    settings.IDEMPOTENCY_LEASE_SECONDS, settings.IDEMPOTENCY_DEBUG_PAUSE_SECONDS = 0.5, 2
    outcome = []

    def hung():
        try:
            outcome.append(pay(APIClient(), order.pk, token).status_code)
        except Exception as exc:  # PostgreSQL ended its session: the commit cannot happen
            outcome.append(type(exc).__name__)
        finally:
            connection.close()

    thread = threading.Thread(target=hung)
    thread.start()
    thread.join()
    assert outcome and outcome[0] not in (202, 409), outcome
    assert Order.objects.get(pk=order.pk).state == "SEATS_SELECTED"  # its change was rolled back
    settings.IDEMPOTENCY_DEBUG_PAUSE_SECONDS = 0
    retry = pay(APIClient(), order.pk, token)
    assert retry.status_code == 202 and not retry.has_header("Idempotent-Replayed")
    assert AuditEntry.objects.filter(order_id=order.pk, action="submit_payment").count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_wait_for_a_key_ends_as_a_409_before_the_serving_bounds_on_the_database(
    flight, no_workers, monkeypatch, settings
):
    # A serving process's bounds (statement timeout, and ours on an answer), scaled down; the wait set above them.
    settings.DB_STATEMENT_TIMEOUT_SECONDS, settings.DB_ANSWER_TIMEOUT_SECONDS = 1.0, 1.5
    settings.IDEMPOTENCY_WAIT_SECONDS = 5
    first, second = _pay_twice_at_once(flight, monkeypatch, seconds=2.5)
    assert (first.status_code, second.status_code) == (202, 409), (first.content, second.content)
    assert second.json()["code"] == "idempotency_key_in_use" and second["Retry-After"] == "1"
