"""Cabin zones in best available: a zone the flight has not is a 400 (not the 404 of
"no such order"), zones match in any case, a Standard zone with no rows is no zone, and a count that is
not a JSON integer gets one friendly message."""

from decimal import Decimal

import pytest

from tests.orders.test_booking_api import post

pytestmark = pytest.mark.django_db


@pytest.fixture
def zoned(flight):
    flight.fare_zones = [{"name": "Front", "rows": [1, 2], "price": "60.00"}]
    flight.base_fare = Decimal("20.00")
    flight.save()
    return flight


def test_an_unknown_zone_is_a_400_naming_the_zones(api, zoned, new_order):
    order_id, token = new_order()
    response = post(api, f"/orders/{order_id}/seats", {"best": 2, "zone": "Cargo"}, token)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_zone" and "Front, Standard" in response.json()["error"]


def test_zones_match_in_any_case(api, zoned, new_order):
    order_id, token = new_order()
    response = post(api, f"/orders/{order_id}/seats", {"best": 2, "zone": "front"}, token)
    assert response.status_code == 200, response.content
    assert all(label[0] in "12" for label in response.json()["Seats"])


def test_a_standard_zone_without_rows_is_no_zone(api, zoned, new_order):
    zoned.fare_zones = [
        {"name": "Front", "rows": [1, 2], "price": "60.00"},
        {"name": "Back", "rows": [3, 5], "price": "10.00"},
    ]
    zoned.save()
    order_id, token = new_order()
    response = post(api, f"/orders/{order_id}/seats", {"best": 1, "zone": "Standard"}, token)
    assert response.status_code == 400, response.content
    assert "its zones: Front, Back." in response.json()["error"] and "Only 0" not in response.json()["error"]


@pytest.mark.parametrize("best", [True, "3", 2.0])
def test_a_count_that_is_not_an_integer_gets_the_friendly_message(api, zoned, new_order, best):
    order_id, token = new_order()
    response = post(api, f"/orders/{order_id}/seats", {"best": best}, token)
    assert response.status_code == 400
    assert "JSON integer, e.g. 2" in response.json()["error"], response.json()
