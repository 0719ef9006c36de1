"""Idempotency-Key on POST /orders and POST /orders/{id}/payment."""

import threading
import time

import pytest
from rest_framework.test import APIClient

from orders import services, tasks
from orders.models import AuditEntry, Order, PaymentAttempt
from tests.conftest import bearer


@pytest.fixture
def no_workers(monkeypatch):
    monkeypatch.setattr(tasks, "enqueue_payment", lambda order_id: None)


def pay(api, order_id, token, code="12345", key="k-1"):
    return api.post(f"/orders/{order_id}/payment", {"code": code}, format="json", HTTP_IDEMPOTENCY_KEY=key,
                    **bearer(token))


@pytest.mark.django_db
def test_creating_twice_with_one_key_makes_one_order(api, flight):
    first = api.post("/orders", {"flightID": "FL-001"}, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    again = api.post("/orders", {"flightID": "FL-001"}, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    other = api.post("/orders", {"flightID": "FL-001", "orderID": "o-x"}, format="json",
                     HTTP_IDEMPOTENCY_KEY="create-1")
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


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_is_a_409_and_pays_once(flight, no_workers, monkeypatch):
    order, token = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    slow_submit = services.submit_payment

    def submit_slowly(**kwargs):  # widen the window so that the two requests overlap
        time.sleep(0.5)
        return slow_submit(**kwargs)

    monkeypatch.setattr(services, "submit_payment", submit_slowly)
    statuses, start = [], threading.Barrier(2)

    def client():
        from django.db import connection

        try:
            start.wait()
            statuses.append(pay(APIClient(), order.pk, token, key="same").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [202, 409]
    assert AuditEntry.objects.filter(order_id=order.pk, action="submit_payment").count() == 1
