"""Abuse limits, with small settings: 429 with Retry-After once a client passes the rate."""

import pytest
from django.core.cache import cache

from tests.conftest import bearer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_limits(settings):
    cache.clear()
    settings.THROTTLE_RATES = {"create_order": "3/min", "change_seats": "2/min", "payment": "1/min"}
    yield
    cache.clear()


def test_creating_orders_is_limited(api, flight):
    for _ in range(3):
        assert api.post("/orders", {"flightID": "FL-001"}, format="json").status_code == 201
    refused = api.post("/orders", {"flightID": "FL-001"}, format="json")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["code"] == "throttled" and "try again in" in refused.json()["error"]


def test_seat_changes_and_payments_are_limited(api, flight, monkeypatch):
    from orders import tasks

    monkeypatch.setattr(tasks, "enqueue_payment", lambda order_id: None)
    created = api.post("/orders", {"flightID": "FL-001"}, format="json").json()
    seats = f"/orders/{created['orderID']}/seats"
    assert api.post(seats, {"seats": ["1A"]}, format="json", **bearer(created["token"])).status_code == 200
    assert api.post(seats, {"seats": ["1B"]}, format="json", **bearer(created["token"])).status_code == 200
    assert api.post(seats, {"seats": ["1C"]}, format="json", **bearer(created["token"])).status_code == 429
    pay = f"/orders/{created['orderID']}/payment"
    assert api.post(pay, {"code": "1"}, format="json", **bearer(created["token"])).status_code == 400
    assert api.post(pay, {"code": "12345"}, format="json", **bearer(created["token"])).status_code == 429
    assert api.get(f"/orders/{created['orderID']}/status", **bearer(created["token"])).json()["Seats"] == ["1B"]


def test_a_limit_can_be_switched_off(api, flight, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "create_order": "off"}
    assert all(api.post("/orders", {"flightID": "FL-001"}, format="json").status_code == 201 for _ in range(5))
