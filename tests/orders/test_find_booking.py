"""Find my booking matches only passengers of the booked seats, takes a reference
as the page does (any case, spaces), and its throttles cannot be got round nor used to lock an owner out."""

# ruff: noqa: F811 - fixtures imported from the issue's test modules are the tests' parameters

import pytest
from django.core.cache import cache

from orders.lookup import BookingNotFound, find_booking
from orders.models import Order
from tests.orders.test_booking_api import (  # noqa: F401 - fixtures
    ADA,
    CHARLES,
    confirmed_with_names,
    enqueued,
    gateway,
    pay,
    post,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def booking(api, flight, new_order, gateway, enqueued, django_capture_on_commit_callbacks):
    cache.clear()
    yield confirmed_with_names(api, new_order, gateway, enqueued, django_capture_on_commit_callbacks)
    cache.clear()


def find(api, reference, last_name, address="198.51.100.1"):
    body = {"reference": reference, "lastName": last_name}
    return api.post("/bookings/find", body, format="json", REMOTE_ADDR=address)


def test_a_passenger_whose_seat_was_let_go_does_not_open_the_booking(
    api, flight, new_order, gateway, enqueued, django_capture_on_commit_callbacks
):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A", "1B"]}, token)
    post(api, f"/orders/{order_id}/passengers", {"passengers": [ADA, CHARLES], "email": "ada@example.com"}, token)
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A"]}, token)  # Babbage's seat let go
    pay(api, order_id, token, django_capture_on_commit_callbacks)
    reference = Order.objects.get(pk=order_id).reference
    assert reference is not None
    assert find_booking(reference=reference, last_name="Lovelace").pk == order_id
    with pytest.raises(BookingNotFound):
        find_booking(reference=reference, last_name="Babbage")


@pytest.mark.parametrize("typed", ["{lower}", " {ref}", "{ref} ", "{a} {b}", "{lower_a} {b}"])
def test_the_api_takes_a_reference_in_any_case_and_with_spaces(api, booking, typed):
    order_id, _token, reference = booking
    given = typed.format(
        ref=reference, lower=reference.lower(), a=reference[:3], b=reference[3:], lower_a=reference[:3].lower()
    )
    found = find(api, given, "Lovelace")
    assert found.status_code == 200, found.content
    assert found.json()["orderID"] == order_id


def test_an_ipv6_address_is_counted_by_its_64(api, settings, booking):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "find_booking": "3/min"}
    _order_id, _token, reference = booking
    answers = [find(api, reference, "Lovelace", f"2001:db8:0:7::{n}").status_code for n in range(1, 5)]
    assert answers == [200, 200, 200, 429]
    assert find(api, reference, "Lovelace", "2001:db8:0:8::1").status_code == 200  # another /64


def test_malformed_requests_and_successes_do_not_lock_the_owner_out(api, settings, booking):
    settings.FIND_BOOKING_REFERENCE_FREE_FAILURES = 2
    _order_id, _token, reference = booking
    junk = [find(api, reference, "L0v3", f"203.0.113.{n}").status_code for n in range(5)]
    assert junk == [400] * 5
    assert [find(api, reference, "Lovelace", f"192.0.2.{n}").status_code for n in range(4)] == [200] * 4
    wrong = [find(api, reference, name, f"198.51.100.{n}") for n, name in enumerate(["Turing", "Hopper", "Lamarr"])]
    assert [r.status_code for r in wrong] == [404, 404, 404]  # a failure past the free ones is still a 404
    again = find(api, reference, "Curie", "198.51.100.2")  # but the address that made it waits
    assert again.status_code == 429 and again.json()["limit"] == "reference"
    assert "this booking reference from your address" in again.json()["error"] and "Retry-After" in again.headers
    assert find(api, reference, "Lovelace", "198.51.100.200").status_code == 200  # the owner, from elsewhere


def test_one_name_tried_against_many_references_from_one_address_is_slowed(api, settings, flight):
    settings.FIND_BOOKING_FREE_FAILURES = 3
    cache.clear()
    guesses = [find(api, ref, "Smith", "203.0.113.1") for ref in ["ABCDEF", "GHJKMN", "PQRSTU", "VWXYZ2", "ABCDE3"]]
    assert [r.status_code for r in guesses] == [404, 404, 404, 404, 429]
    assert guesses[4].json()["limit"] == "address" and "Retry-After" in guesses[4].headers
    assert find(api, "ABCDE3", "Smith", "203.0.113.2").status_code == 404  # another address is not slowed
    cache.clear()


def test_the_page_says_which_limit_was_hit(client, settings, booking):
    settings.FIND_BOOKING_REFERENCE_FREE_FAILURES = 1
    _order_id, _token, reference = booking
    client.post("/find-booking", {"reference": reference, "last_name": "Turing"})
    client.post("/find-booking", {"reference": reference, "last_name": "Curie"})
    page = client.post("/find-booking", {"reference": reference.lower(), "last_name": "Hopper"})
    assert page.status_code == 429 and "this booking reference" in page.content.decode()
    assert "Retry-After" in page.headers
