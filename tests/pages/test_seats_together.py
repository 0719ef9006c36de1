"""Find seats together proposes before anything is held: the seats, their zone and their price against
the seats held now, then "Hold these seats" holds exactly them; with JavaScript and without, and a seat
taken meanwhile brings a fresh proposal."""

import re

import pytest

from tests.http import call
from tests.pages.tools import DESKTOP, assert_accessible, book, long_flight, open_page, seat

pytestmark = pytest.mark.django_db(transaction=True)


def hold_row_20(page) -> None:
    """The traveller holds 20A and 20B (178.00 EUR) by clicks on the map."""
    from playwright.sync_api import expect

    seat(page, "20A").click()
    expect(page.locator("#your-seats")).to_have_text("20A")
    seat(page, "20B").click()
    expect(page.locator("#your-seats")).to_have_text("20A, 20B")


def test_the_price_difference_is_said_before_anything_is_held(site):
    from playwright.sync_api import expect

    long_flight()  # Front 1-3 at 129.00, Extra legroom 12-13 at 119.00, the rest 89.00 EUR
    site.start()
    page = open_page(site, DESKTOP)
    order_id = book(site, page, "F-300")
    hold_row_20(page)
    page.get_by_label("Seats together").select_option("2")
    page.get_by_role("button", name="Find seats together").click()  # any zone: the cheapest where they fit
    proposal = page.locator("#best-proposal-text")
    expect(proposal).to_have_text("4A, 4B in Standard: 178.00 EUR, the same as your seats now.")
    page.get_by_label("Cabin zone").select_option("Front")
    page.get_by_role("button", name="Find seats together").click()
    expect(proposal).to_have_text("1A, 1B in Front: 258.00 EUR, 80.00 EUR more than your seats now.")
    hold = page.get_by_role("button", name="Hold these seats")
    expect(hold).to_be_focused()
    expect(hold).to_have_accessible_description(proposal.inner_text())
    for label, state in (("1A", "available"), ("1B", "available"), ("20A", "mine"), ("20B", "mine")):
        expect(seat(page, label)).to_have_attribute("data-state", state)  # the map unchanged: nothing held yet
    expect(page.locator("#your-seats")).to_have_text("20A, 20B")
    assert_accessible(page, "booking, seats together proposed")
    hold.click()
    expect(page.locator("#your-seats")).to_have_text("1A, 1B")
    expect(page.locator("#summary-total")).to_have_text("Total 258.00 EUR")
    expect(seat(page, "20A")).to_have_attribute("data-state", "available")
    expect(page.locator("#best-proposal")).to_be_hidden()
    expect(page.locator("#announcer")).to_have_text("Seats 1A, 1B are held for you.")
    assert call(site.base, "GET", f"/orders/{order_id}/status")[0] == 403  # (the page's session holds it)


def test_a_seat_taken_meanwhile_brings_a_fresh_proposal(site):
    from playwright.sync_api import expect

    long_flight()
    site.start()
    page = open_page(site, DESKTOP)
    book(site, page, "F-300")
    page.get_by_label("Cabin zone").select_option("Front")
    page.get_by_role("button", name="Find seats together").click()
    expect(page.locator("#best-proposal-text")).to_have_text("1A, 1B in Front: 258.00 EUR.")
    _status, other = call(site.base, "POST", "/orders", {"flightID": "F-300"})
    assert call(site.base, "POST", f"/orders/{other['orderID']}/seats", {"seats": ["1B"]}, other["token"])[0] == 200
    page.get_by_role("button", name="Hold these seats").click()
    expect(page.locator("#best-proposal-text")).to_have_text(
        "Taken meanwhile by another traveller: 1B. Here is a new choice. 1D, 1E in Front: 258.00 EUR."
    )
    expect(page.locator("#your-seats")).to_have_text("none yet")
    page.get_by_role("button", name="Hold these seats").click()
    expect(page.locator("#your-seats")).to_have_text("1D, 1E")
    page.get_by_label("Seats together").select_option("3")
    page.get_by_role("button", name="Find seats together").click()
    expect(page.locator("#best-proposal-text")).to_contain_text("more than your seats now.")
    page.get_by_role("link", name="Choose again").click()
    expect(page.locator("#best-proposal")).to_be_hidden()
    expect(page.get_by_label("Seats together")).to_be_focused()
    expect(page.locator("#your-seats")).to_have_text("1D, 1E")


def test_without_javascript_the_proposal_comes_first_too(site):
    from playwright.sync_api import expect

    long_flight()
    site.start()
    page = open_page(site, DESKTOP)
    page.route(re.compile(r"/js/booking[^/]*\.js"), lambda route: route.abort())  # (axe itself needs JavaScript)
    book(site, page, "F-300")
    page.locator('#seat-form input[value="20A"]').check()
    page.locator('#seat-form input[value="20B"]').check()
    page.get_by_role("button", name="Hold the ticked seats").click()
    expect(page.locator("#your-seats")).to_have_text("20A, 20B")
    page.get_by_label("Cabin zone").select_option("Front")
    page.get_by_role("button", name="Find seats together").click()
    expect(page.locator("#best-proposal-text")).to_have_text(
        "1A, 1B in Front: 258.00 EUR, 80.00 EUR more than your seats now."
    )
    hold = page.get_by_role("button", name="Hold these seats")
    expect(hold).to_be_focused()  # the page comes back to the proposal
    expect(page.locator('#seat-form input[value="1A"]')).not_to_be_checked()
    expect(page.locator('#seat-form input[value="20A"]')).to_be_checked()
    expect(page.locator("#your-seats")).to_have_text("20A, 20B")
    assert_accessible(page, "booking without JavaScript, seats together proposed")
    hold.click()
    expect(page.locator(".message")).to_have_text("Seats updated.")
    expect(page.locator("#your-seats")).to_have_text("1A, 1B")
    expect(page.locator('#seat-form input[value="1A"]')).to_be_checked()
    expect(page.locator('#seat-form input[value="20A"]')).not_to_be_checked()
    expect(page.locator("#best-proposal")).to_be_hidden()
    assert re.search(r"Total 258\.00 EUR", page.locator("#summary-total").inner_text())
