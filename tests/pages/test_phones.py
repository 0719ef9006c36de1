"""Phones first: no horizontal scrolling at 360 px, flights as cards, a sticky summary bar with the
countdown, the seats and Pay, errors in view, touch targets of at least 24x24 px, and nothing moving under
the finger when the countdown appears."""

import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

from tests.http import call
from tests.pages.tools import (
    NARROW_PHONE,
    OUTCOME_TIMEOUT_MS,
    PHONE,
    book,
    long_flight,
    name_passengers,
    open_page,
    seat,
)

pytestmark = pytest.mark.django_db(transaction=True)

SCROLLS_SIDEWAYS = "document.documentElement.scrollWidth > document.documentElement.clientWidth"
# Everything a finger may press, visible, smaller than 24x24 CSS px (WCAG 2.2, 2.5.8).
SMALL_TARGETS = """() => [...document.querySelectorAll('button, a, input:not([type=hidden]), summary, .seat')]
  .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden'
                && !el.classList.contains('skip-link') && !(el.tagName === 'INPUT' && el.closest('.seat')))
  .map(el => [el.id || el.dataset.seat || el.textContent.trim(), el.getBoundingClientRect()])
  .filter(([, box]) => box.width < 24 || box.height < 24).map(([name]) => name)"""


def test_at_360_px_nothing_scrolls_sideways_and_flights_are_cards(site):
    from playwright.sync_api import expect

    long_flight()
    site.start()
    page = open_page(site, NARROW_PHONE)
    page.goto(site.base + "/")
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    book_button = page.get_by_role("button", name="Book seats on FL-001")
    expect(book_button).to_be_in_viewport()
    box = book_button.bounding_box()
    assert box and box["x"] + box["width"] <= NARROW_PHONE["width"]
    assert page.locator("table.flights tr").nth(1).evaluate("el => getComputedStyle(el).display") == "grid"
    assert page.evaluate(SMALL_TARGETS) == []
    book(site, page, "F-300")
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    seat(page, "2F").click()
    expect(seat(page, "2F")).to_have_attribute("data-state", "mine")
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    assert page.evaluate(SMALL_TARGETS) == []


def test_the_summary_bar_keeps_countdown_seats_pay_and_errors_in_view(site):
    from playwright.sync_api import expect

    long_flight()
    site.start()
    page = open_page(site, PHONE)
    page.context.route("**/flights/*/events", lambda route: route.abort())  # this page misses the news
    book(site, page, "F-300")
    seat(page, "1A").click()
    expect(seat(page, "1A")).to_have_attribute("data-state", "mine")
    for what in ("#countdown-time", "#your-seats", "#pay-button", "#code"):
        expect(page.locator(what)).to_be_in_viewport()
    seat(page, "28F").scroll_into_view_if_needed()
    seat(page, "28F").click()
    expect(page.locator("#your-seats")).to_have_text("1A, 28F")
    for what in ("#countdown-time", "#your-seats", "#pay-button"):
        expect(page.locator(what)).to_be_in_viewport()
    # A seat taken meanwhile near the top of the map: the reason shows where the traveller looks.
    _status, body = call(site.base, "POST", "/orders", {"flightID": "F-300"})
    call(site.base, "POST", f"/orders/{body['orderID']}/seats", {"seats": ["3B"]}, body["token"])
    page.evaluate("window.scrollTo(0, 0)")
    seat(page, "3B").click()
    expect(page.locator("#seat-error")).to_have_text("Seat 3B is already taken. Choose other seats.")
    expect(page.locator("#seat-error")).to_be_in_viewport()
    # The bar does not hide the last row: the page scrolls far enough to show it above the bar.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    last, bar = seat(page, "30F").bounding_box(), page.locator("#summary").bounding_box()
    assert last and bar and last["y"] + last["height"] <= bar["y"]


def test_nothing_moves_under_the_finger_when_the_countdown_appears(site):
    from playwright.sync_api import expect

    long_flight()
    site.start()
    page = open_page(site, PHONE)
    book(site, page, "F-300")
    seat(page, "6C").scroll_into_view_if_needed()
    before = seat(page, "6C").bounding_box()
    seat(page, "5C").click()
    expect(page.locator("#countdown")).not_to_have_attribute("data-off", "")
    expect(page.locator("#countdown-time")).to_contain_text(":")
    assert seat(page, "6C").bounding_box() == before


def test_at_360_px_the_booking_controls_fit_and_are_big_enough(site):
    """Find seats together, the passenger form, the total and Pay, the reference, the receipt and find my
    booking: nothing scrolls sideways at 360 px and every target is at least 24x24 px."""
    from playwright.sync_api import expect

    long_flight()
    site.start()
    page = open_page(site, NARROW_PHONE)
    page.goto(site.base + "/")
    assert page.evaluate(SMALL_TARGETS) == []  # the header's and the page's Find my booking links
    book(site, page, "F-300")
    page.get_by_label("Seats together").select_option("3")
    page.get_by_label("Cabin zone").select_option("Extra legroom")
    page.get_by_role("button", name="Find seats together").click()
    page.get_by_role("button", name="Hold these seats").click()  # proposed with their price first
    expect(page.locator("#passenger-rows .passenger")).to_have_count(3)
    expect(page.locator("#pay-button")).to_have_text("Pay 357.00 EUR")
    for what in ("#your-seats", "#pay-button", "#pay-why"):
        expect(page.locator(what)).to_be_in_viewport()  # in the sticky bar (the total on Pay)
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    assert page.evaluate(SMALL_TARGETS) == []
    page.get_by_role("link", name="Before paying, name a passenger for each seat.").click()
    first = page.locator("#passenger-rows .passenger").first.get_by_label("First name")
    first.focus()
    box, bar = first.bounding_box(), page.locator("#summary").bounding_box()
    assert box and bar and box["y"] + box["height"] <= bar["y"]  # not under the sticky bar
    name_passengers(page)
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#booking-reference")).to_be_visible(timeout=OUTCOME_TIMEOUT_MS)
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    assert page.evaluate(SMALL_TARGETS) == []
    for path in ("/receipt", "/find-booking"):
        page.goto(page.url.rsplit("/receipt", 1)[0] + path if path == "/receipt" else site.base + path)
        assert not page.evaluate(SCROLLS_SIDEWAYS), path
        assert page.evaluate(SMALL_TARGETS) == [], path
