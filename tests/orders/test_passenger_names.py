"""Passenger names are normalised by the service (as the page does), repeated
punctuation refused; a passenger's error names the passenger; a seat named twice is in the 409's seats."""

import pytest

from orders.models import Order
from tests.orders.test_booking_api import ADA, CHARLES, post

pytestmark = pytest.mark.django_db


def name(api, new_order, last_name, seats=("1A",)):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": list(seats)}, token)
    body = {"passengers": [{**ADA, "lastName": last_name}], "email": "ada@example.com"}
    return order_id, post(api, f"/orders/{order_id}/passengers", body, token)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Mu\u0308ller", "Müller"),
        ("Lovelace ", "Lovelace"),
        ("  van  der   Berg ", "van der Berg"),
        ("St.  John", "St. John"),
    ],
)
def test_names_are_stored_as_a_person_means_them(api, flight, new_order, typed, stored):
    order_id, response = name(api, new_order, typed)
    assert response.status_code == 200, response.content
    assert Order.objects.get(pk=order_id).passengers[0]["lastName"] == stored


def test_the_length_is_counted_after_composing_accents(api, flight, new_order):
    _order_id, response = name(api, new_order, "Mu\u0308" * 32)  # 96 code points, 64 letters composed
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("typed", ["Lo--..''ve", "O''Neil", "Ada -Lovelace", "Ada-", "A .B"])
def test_repeated_or_trailing_punctuation_is_refused(api, flight, new_order, typed):
    _order_id, response = name(api, new_order, typed)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_name" and "passengers[0].lastName" in response.json()["error"]


def test_an_error_names_the_passenger(api, flight, new_order):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A", "1B"]}, token)
    body = {"passengers": [ADA, {**CHARLES, "lastName": "Bab6age"}], "email": "ada@example.com"}
    response = post(api, f"/orders/{order_id}/passengers", body, token)
    assert response.status_code == 400
    assert response.json()["error"].startswith("passengers[1].lastName: "), response.json()
    assert "lastName: lastName" not in response.json()["error"]
    body = {"passengers": [ADA, {**CHARLES, "seat": "1b"}], "email": "ada@example.com"}
    seat = post(api, f"/orders/{order_id}/passengers", body, token).json()
    assert seat["error"].startswith("passengers[1].seat: "), seat


def test_a_seat_named_twice_is_in_the_409s_seats(api, flight, new_order):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A", "1B"]}, token)
    body = {"passengers": [ADA, {**CHARLES, "seat": "1A"}], "email": "ada@example.com"}
    response = post(api, f"/orders/{order_id}/passengers", body, token)
    assert response.status_code == 409 and response.json()["seats"] == ["1A", "1B"]
