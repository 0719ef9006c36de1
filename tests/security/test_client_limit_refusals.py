"""A refusal that says "try again later" is a moment's answer, not the request's: the client limits' 429s
(orders/services/client_limits.py) are not kept under an Idempotency-Key (core/idempotency.py), so the
client retrying with the same key after Retry-After gets its order; and the refusal log's summary
(core/logs.py) names them by their own codes, apart from the rate throttle's."""

import uuid

import pytest

from core import logs
from core.models import IdempotencyRecord
from orders.models import Order
from tests.conftest import bearer
from tests.security.hoarding import HOARDER, ORDERS_LIMIT, api_client, assert_refused, best, create

pytestmark = pytest.mark.django_db


def test_a_create_refused_for_too_many_open_orders_runs_afresh_when_retried_with_its_key(limits, big_flight):
    hoarder = api_client(HOARDER)
    made = [create(hoarder, big_flight.code).json() for _ in range(ORDERS_LIMIT)]
    key = str(uuid.uuid4())
    refused = create(hoarder, big_flight.code, HTTP_IDEMPOTENCY_KEY=key)
    assert_refused(refused, "client_order_limit")
    assert not IdempotencyRecord.objects.exists()  # the key was released, not bound to the refusal
    # Still refused while the client has 8 open orders, and not as a replay: the create ran again.
    again = create(hoarder, big_flight.code, HTTP_IDEMPOTENCY_KEY=key)
    assert_refused(again, "client_order_limit")
    assert "Idempotent-Replayed" not in again

    first = made[0]
    assert hoarder.post(f"/orders/{first['orderID']}/cancel", **bearer(first["token"])).status_code == 200
    retried = create(hoarder, big_flight.code, HTTP_IDEMPOTENCY_KEY=key)
    assert retried.status_code == 201, retried.content
    assert "Idempotent-Replayed" not in retried
    # From now on the key is the order's: the same retry replays it, nothing is made twice.
    replayed = create(hoarder, big_flight.code, HTTP_IDEMPOTENCY_KEY=key)
    assert replayed.status_code == 201 and replayed["Idempotent-Replayed"] == "true"
    assert replayed.json() == retried.json()
    assert Order.objects.filter(flight=big_flight).count() == ORDERS_LIMIT + 1


def test_the_refusal_summary_names_the_client_limits(limits, big_flight, monkeypatch):
    counted: list[str] = []
    monkeypatch.setattr(logs.REFUSALS, "count", counted.append)
    hoarder = api_client(HOARDER)
    orders = [create(hoarder, big_flight.code).json() for _ in range(3)]
    assert [best(hoarder, o["orderID"], o["token"]).status_code for o in orders] == [200, 200, 429]
    for _ in range(ORDERS_LIMIT - 3):
        create(hoarder, big_flight.code)
    assert_refused(create(hoarder, big_flight.code), "client_order_limit")
    assert counted == ["429 client_hold_limit", "429 client_order_limit"]
