"""The page forms count with the API's views of the same change: one limit per scope and client address,
whichever door the requests came through (orders/throttles.py, orders/views.py `throttled`)."""

import pytest
from django.core.cache import cache
from django.test import Client

from tests.conftest import bearer

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_rate(settings):
    def limit(scope: str, rate: str = "2/min") -> None:
        settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, scope: rate}
        cache.clear()

    yield limit
    cache.clear()


@pytest.fixture
def page_order(flight) -> tuple[Client, str]:
    """A browser without JavaScript with a booking of its own, holding seat 5F."""
    browser = Client()
    order_id = browser.post(f"/book/{flight.code}")["Location"].rsplit("/", 1)[1]
    browser.post(f"/booking/{order_id}/seats", {"seats": ["5F"]})
    return browser, order_id


def assert_throttled_page(response) -> None:
    assert response.status_code == 429, response.content
    assert int(response["Retry-After"]) >= 1
    page = response.content.decode()
    assert "Try again in" in page and "<html" in page


def test_the_seat_form_answers_429_once_the_api_has(api, new_order, page_order, small_rate):
    browser, page_order_id = page_order
    order_id, token = new_order()
    small_rate("change_seats")
    answers = [
        api.post(f"/orders/{order_id}/seats", {"seats": [seat]}, format="json", **bearer(token)).status_code
        for seat in ("1A", "1B", "1C")
    ]
    assert answers == [200, 200, 429]
    for path, form in [
        (f"/booking/{page_order_id}/seats", {"seats": ["2A"]}),
        (f"/booking/{page_order_id}/best", {"count": "2"}),
        (f"/booking/{page_order_id}/passengers", {"seat": "5F", "first_name": "Ada", "last_name": "Lovelace"}),
    ]:
        assert_throttled_page(browser.post(path, form))
    # A cancel only frees the caller's own seats: neither door holds it back.
    assert browser.post(f"/booking/{page_order_id}/cancel").status_code == 302
    assert api.post(f"/orders/{order_id}/cancel", {}, format="json", **bearer(token)).status_code == 200


def test_the_api_answers_429_once_the_pages_have_used_the_limit(api, new_order, page_order, small_rate):
    browser, page_order_id = page_order
    order_id, token = new_order()
    small_rate("change_seats")
    assert browser.post(f"/booking/{page_order_id}/seats", {"seats": ["2A"]}).status_code == 302
    assert browser.post(f"/booking/{page_order_id}/seats", {"seats": ["2B"]}).status_code == 302
    refused = api.post(f"/orders/{order_id}/seats", {"seats": ["1A"]}, format="json", **bearer(token))
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"


def test_starting_a_booking_and_paying_share_the_apis_limits(api, flight, page_order, small_rate):
    browser, page_order_id = page_order
    small_rate("create_order", "1/min")
    assert api.post("/orders", {"flightID": flight.code}, format="json").status_code == 201
    assert api.post("/orders", {"flightID": flight.code}, format="json").status_code == 429
    assert_throttled_page(browser.post(f"/book/{flight.code}"))
    assert browser.get(f"/book/{flight.code}").status_code == 302  # a typed link is not a change: not counted
    small_rate("payment", "1/min")
    # Counted before the order is looked up, on either door: here an order that does not exist.
    assert api.post("/orders/o-nobody/payment", {"code": "12345"}, format="json").status_code == 404
    assert_throttled_page(browser.post(f"/booking/{page_order_id}/pay", {"code": "12345"}))


def test_another_address_has_its_own_count(api, new_order, page_order, small_rate):
    browser, page_order_id = page_order
    order_id, token = new_order()
    small_rate("change_seats", "1/min")
    assert api.post(f"/orders/{order_id}/seats", {"seats": ["1A"]}, format="json", **bearer(token)).status_code == 200
    other = browser.post(f"/booking/{page_order_id}/seats", {"seats": ["2A"]}, REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 302
