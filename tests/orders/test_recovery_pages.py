"""The "hold the same seats again" form's handler: only for whoever may open the ended booking, a 303 to
the new booking (the same one when asked twice), the refusal said on the page, throttled as a create."""

import pytest
from django.core.cache import cache
from django.test import Client

from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def cancelled(flight) -> tuple[Client, str]:
    """A browser without JavaScript whose booking of 5E and 5F it cancelled."""
    browser = Client()
    order_id = browser.post(f"/book/{flight.code}")["Location"].rsplit("/", 1)[1]
    browser.post(f"/booking/{order_id}/seats", {"seats": ["5E", "5F"]})
    browser.post(f"/booking/{order_id}/cancel")
    assert Order.objects.get(pk=order_id).state == "CANCELLED"
    return browser, order_id


def test_holding_again_goes_to_the_new_booking_and_twice_to_the_same_one(cancelled):
    browser, order_id = cancelled
    ended_page = browser.get(f"/booking/{order_id}").content.decode()
    assert f'action="/booking/{order_id}/again"' in ended_page and "Hold seats 5E, 5F again" in ended_page
    again = browser.post(f"/booking/{order_id}/again")
    assert again.status_code == 303
    new_id = again["Location"].rsplit("/", 1)[1]
    assert new_id != order_id
    page = browser.get(again["Location"]).content.decode()
    assert "Seats 5E, 5F are held for you again." in page
    assert browser.post(f"/booking/{order_id}/again")["Location"] == f"/booking/{new_id}"
    assert "You held these seats again already" in browser.get(f"/booking/{new_id}").content.decode()
    assert Order.objects.count() == 2


def test_another_browser_cannot_hold_them_again(cancelled):
    _browser, order_id = cancelled
    refused = Client().post(f"/booking/{order_id}/again")
    assert refused.status_code == 403
    assert "<html" in refused.content.decode()
    assert Order.objects.count() == 1


def test_an_open_booking_is_not_held_again_and_the_page_says_why(flight):
    browser = Client()
    order_id = browser.post(f"/book/{flight.code}")["Location"].rsplit("/", 1)[1]
    browser.post(f"/booking/{order_id}/seats", {"seats": ["4A"]})
    refused = browser.post(f"/booking/{order_id}/again")
    assert (refused.status_code, refused["Location"]) == (303, f"/booking/{order_id}")
    page = browser.get(refused["Location"]).content.decode()
    assert "Only a booking that ended without being paid" in page
    assert Order.objects.count() == 1


def test_holding_again_counts_as_creating_an_order(cancelled, settings):
    browser, order_id = cancelled
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "create_order": "1/min"}
    cache.clear()
    try:
        browser.post("/book/FL-001")  # the one create of the minute
        throttled = browser.post(f"/booking/{order_id}/again")
        assert throttled.status_code == 429 and int(throttled["Retry-After"]) >= 1
        assert Order.objects.count() == 2
    finally:
        cache.clear()


def test_without_javascript_a_name_whose_seat_was_taken_fills_the_next_seat_chosen(flight):
    browser = Client()
    order_id = browser.post(f"/book/{flight.code}")["Location"].rsplit("/", 1)[1]
    browser.post(f"/booking/{order_id}/seats", {"seats": ["5E", "5F"]})
    form = {"seat": ["5E", "5F"], "first_name": ["Ada", "Grace"], "last_name": ["Lovelace", "Hopper"]}
    browser.post(f"/booking/{order_id}/passengers", {**form, "email": "ada@example.com"})
    browser.post(f"/booking/{order_id}/cancel")
    taker = Client()
    other = taker.post(f"/book/{flight.code}")["Location"].rsplit("/", 1)[1]
    taker.post(f"/booking/{other}/seats", {"seats": ["5F"]})
    new_id = browser.post(f"/booking/{order_id}/again")["Location"].rsplit("/", 1)[1]
    page = browser.get(f"/booking/{new_id}").content.decode()
    assert "Choose a seat for Grace Hopper." in page and 'id="first-5F"' not in page
    browser.post(f"/booking/{new_id}/seats", {"seats": ["5E", "4A"]})
    page = browser.get(f"/booking/{new_id}").content.decode()
    assert (
        'id="first-4A" name="first_name" value="Grace"' in page
        and 'id="last-4A" name="last_name" value="Hopper"' in page
    )
    assert 'id="first-5E" name="first_name" value="Ada"' in page
