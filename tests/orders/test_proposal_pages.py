"""The "Find seats together" form without JavaScript: it proposes (nothing is held), the booking page shows
the seats, their zone and price against the seats held now, and "Hold these seats" holds exactly them; a
seat taken meanwhile gets the usual refusal and a fresh proposal (orders/proposal_pages.py)."""

from decimal import Decimal

import pytest
from django.test import Client

from inventory.models import LIVE_HOLD_STATES, SeatHold
from orders import services
from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def fronted(flight):
    flight.fare_zones = [{"name": "Front", "rows": [1, 2], "price": "129.00"}]
    flight.base_fare, flight.currency = Decimal("89.00"), "EUR"
    flight.save()
    return flight


def started(flight) -> tuple[Client, str]:
    browser = Client()
    return browser, browser.post(f"/book/{flight.code}")["Location"].rsplit("/", 1)[1]


def held_seats(order_id: str) -> list[str]:
    holds = SeatHold.objects.filter(order_id=order_id, state__in=LIVE_HOLD_STATES)
    return sorted(holds.values_list("seat__label", flat=True))


def hold(browser: Client, order_id: str, page: str, *, count: str = "2", zone: str = ""):
    """Press "Hold these seats" as the page's form sends it: the proposed seats, the form's count and zone."""
    proposed = page.split('id="best-proposal-seats">')[1].split("</span>")[0]
    labels = [part.split('"')[0] for part in proposed.split('value="')[1:]]
    form = {"seats": labels, "count": count, "zone": zone, "hold": "proposal"}
    return browser.post(f"/booking/{order_id}/seats", form, follow=True)


def test_the_form_proposes_with_the_price_and_holds_nothing_until_asked(fronted):
    browser, order_id = started(fronted)
    browser.post(f"/booking/{order_id}/seats", {"seats": ["5E", "5F"]})
    answer = browser.post(f"/booking/{order_id}/best", {"count": "2", "zone": "Front"})
    assert answer["Location"].endswith(f"/booking/{order_id}")
    page = browser.get(f"/booking/{order_id}").content.decode()
    assert "1A, 1B in Front: 258.00 EUR, 80.00 EUR more than your seats now." in page
    assert '<option value="Front" selected>' in page and "<option selected>2</option>" in page
    assert held_seats(order_id) == ["5E", "5F"]
    held = hold(browser, order_id, page, zone="Front").content.decode()
    assert Order.objects.get(pk=order_id).state == "SEATS_SELECTED"
    assert held_seats(order_id) == ["1A", "1B"]
    assert "Seats updated." in held and 'id="best-proposal" hidden' in held  # shown once


def test_a_seat_taken_meanwhile_is_refused_with_a_fresh_proposal(fronted):
    browser, order_id = started(fronted)
    browser.post(f"/booking/{order_id}/best", {"count": "2", "zone": ""})
    page = browser.get(f"/booking/{order_id}").content.decode()
    assert "3A, 3B in Standard: 178.00 EUR." in page  # the cheapest zone; nothing held to compare with
    other, _ = services.create_order(flight_code=fronted.code, actor="test")
    services.select_seats(order_id=other.pk, labels=["3B"], actor="test")
    again = hold(browser, order_id, page).content.decode()
    assert "Seat 3B is already taken." in again
    assert "3D, 3E in Standard: 178.00 EUR." in again  # no pair left in 3A-3C
    assert held_seats(order_id) == []


def test_refusals_are_said_on_the_page(fronted):
    browser, order_id = started(fronted)
    for count, says in [("x", "1-9"), ("10", "1-9 seats"), ("31", "1-9 seats")]:
        refused = browser.post(f"/booking/{order_id}/best", {"count": count}, follow=True).content.decode()
        assert says in refused, count
    unknown = browser.post(f"/booking/{order_id}/best", {"count": "2", "zone": "Cargo"}, follow=True).content.decode()
    assert "no cabin zone" in unknown and 'id="best-proposal" hidden' in unknown
    assert Client().post(f"/booking/{order_id}/best", {"count": "2"}).status_code == 403
