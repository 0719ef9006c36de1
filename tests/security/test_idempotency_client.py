"""An Idempotency-Key is bound to the client that first used it (core/idempotency.py): another client's
replay with the same key and body is a 409, never the first client's answer with the order's token; the
first client's own retry is answered as before."""

import uuid

import pytest
from django.test import Client

from orders.models import Order
from tests.conftest import bearer

pytestmark = pytest.mark.django_db

FIRST, OTHER = "203.0.113.10", "198.51.100.20"


def create(client: Client, key: str, **extra):
    return client.post(
        "/orders", {"flightID": "FL-001"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key, **extra
    )


def test_another_address_replaying_a_create_gets_409_not_the_token(flight):
    key = str(uuid.uuid4())
    first = create(Client(REMOTE_ADDR=FIRST), key)
    assert first.status_code == 201
    stolen = create(Client(REMOTE_ADDR=OTHER), key)
    assert stolen.status_code == 409, stolen.content
    body = stolen.json()
    assert body["code"] == "idempotency_key_other_client"
    assert first.json()["token"] not in stolen.content.decode()
    assert "Use a new key" in body["error"]
    # The first client's own retry still gets its answer, token and all, and nothing was made twice.
    retry = create(Client(REMOTE_ADDR=FIRST), key)
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Order.objects.count() == 1


def test_the_same_address_with_another_browser_session_is_another_client(flight):
    key = str(uuid.uuid4())
    mine, theirs = Client(REMOTE_ADDR=FIRST), Client(REMOTE_ADDR=FIRST)
    for browser in (mine, theirs):
        browser.post("/book/FL-001")  # each browser gets a session of its own
    assert create(mine, key).status_code == 201
    assert create(theirs, key).status_code == 409
    assert create(mine, key).status_code == 201


def test_an_ipv6_client_retrying_from_another_address_of_its_64_is_the_same_client(flight):
    key = str(uuid.uuid4())
    first = create(Client(REMOTE_ADDR="2001:db8:5:6::1"), key)
    retry = create(Client(REMOTE_ADDR="2001:db8:5:6::2"), key)
    assert retry.status_code == 201 and retry.json()["token"] == first.json()["token"]
    assert create(Client(REMOTE_ADDR="2001:db8:5:7::1"), key).status_code == 409


def test_a_payment_replayed_by_another_client_with_the_token_is_409(flight):
    client = Client(REMOTE_ADDR=FIRST)
    made = client.post("/orders", {"flightID": "FL-001"}, content_type="application/json").json()
    order_id, token = made["orderID"], made["token"]
    client.post(f"/orders/{order_id}/seats", {"seats": ["1A"]}, content_type="application/json", **bearer(token))
    key = str(uuid.uuid4())

    def pay(address: str):
        return Client(REMOTE_ADDR=address).post(
            f"/orders/{order_id}/payment",
            {"code": "12345"},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=key,
            **bearer(token),
        )

    assert pay(FIRST).status_code == 202
    other = pay(OTHER)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_other_client"
    assert pay(FIRST).status_code == 202
