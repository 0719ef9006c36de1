"""Keyboards and screen readers: a skip link, the seat map as one tab stop with arrow keys inside, seat
names in words, a countdown that speaks only at 5 minutes, 1 minute and the end, more time before the hold
ends, the outcome announced and focused, and no pulsing for those who asked for reduced motion."""

import os
import re

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

from tests.pages.tools import DESKTOP, OUTCOME_TIMEOUT_MS, book, long_flight, name_passengers, open_page, seat

pytestmark = pytest.mark.django_db(transaction=True)

FOCUSED = "() => document.activeElement.getAttribute('aria-label') || document.activeElement.id"
# Every text the page puts in a live region (role=status/alert, aria-live), in order.
RECORD_ANNOUNCEMENTS = """() => {
  window.announced = [];
  const live = '[aria-live], [role=status], [role=alert]';
  new MutationObserver((changes) => {
    for (const change of changes) {
      const region = (change.target.nodeType === 1 ? change.target : change.target.parentElement).closest(live);
      if (region && region.textContent.trim()) window.announced.push(region.textContent.trim());
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_skip_link_one_tab_stop_for_the_map_and_arrow_keys(site):
    from playwright.sync_api import expect

    long_flight()
    site.start()
    page = open_page(site, DESKTOP)
    book(site, page, "F-300")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to the seat map")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED) == "Row 1, seat A, window, exit row, Front 129.00 EUR, available"
    for _ in range(23):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    assert page.evaluate(FOCUSED) == "Row 24, seat B, middle, Standard 89.00 EUR, available"
    page.keyboard.press("Space")
    expect(seat(page, "24B")).to_have_attribute("data-state", "mine")
    assert page.evaluate(FOCUSED) == "Row 24, seat B, middle, Standard 89.00 EUR, held for you"
    page.keyboard.press("End")
    assert page.evaluate(FOCUSED) == "Row 24, seat F, window, Standard 89.00 EUR, available"
    page.keyboard.press("Tab")  # out of the map: the passenger form is next, then Pay
    assert page.evaluate("document.activeElement.id") == "first-24B"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED) == "Row 24, seat F, window, Standard 89.00 EUR, available"  # back where it was


def test_find_seats_together_the_passenger_form_and_pay_by_keyboard_alone(site):
    from playwright.sync_api import expect

    long_flight()
    site.start()
    page = open_page(site, DESKTOP)
    book(site, page, "F-300")
    order = []
    for _ in range(8):  # skip link, the brand, Find my booking, the languages, the "Find N seats together" form
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    assert order[2:] == ["Find my booking", "English", "Português", "best-count", "best-zone", "best-button"], order
    page.keyboard.press("Enter")  # 2 seats together, any zone: proposed with their price, nothing held yet
    # The cheapest zone's window pair (Standard, rows 4-): the front rows cost more.
    expect(page.locator("#best-proposal-text")).to_contain_text("4A, 4B in Standard: 178.00 EUR")
    expect(page.locator("#best-hold")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#your-seats")).to_have_text("4A, 4B")
    expect(page.locator("#best-button")).to_be_focused()  # the proposal went, the focus did not
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED).startswith("Row 4, seat A")  # the map, one stop, where the seats are
    page.keyboard.press("Tab")
    for text in ("Ada", "Lovelace", "Grace", "Hopper", "ada@example.com"):
        page.keyboard.type(text)
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "passengers-button"
    page.keyboard.press("Enter")
    expect(page.locator("#pay-button")).to_be_enabled()
    expect(page.locator("#pay-button")).to_have_text("Pay 178.00 EUR")  # 2 x Standard 89.00
    tabs = 0
    while page.evaluate("document.activeElement.id") != "code":
        page.keyboard.press("Tab")
        tabs += 1
        assert tabs < 3, f"still not at the payment field after {tabs} Tabs: {page.evaluate(FOCUSED)}"
    page.keyboard.type("12345")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "pay-button"
    page.keyboard.press("Enter")
    expect(page.locator("#final-title")).to_be_focused(timeout=OUTCOME_TIMEOUT_MS)
    expect(page.locator("#booking-reference")).to_have_text(re.compile("^[A-Z2-9]{6}$"))


def test_passenger_errors_are_beside_their_fields_and_announced(site):
    from playwright.sync_api import expect

    site.start()
    page = open_page(site, DESKTOP)
    book(site, page)
    page.evaluate(RECORD_ANNOUNCEMENTS)
    seat(page, "2A").click()
    expect(page.locator("#pay-why")).to_have_text("Before paying, name a passenger for each seat.")
    expect(page.locator("#pay-button")).to_be_disabled()
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace 3")
    page.get_by_label("Contact email").fill("ada@")
    page.get_by_role("button", name="Save passengers").click()
    last = page.get_by_label("Last name")
    expect(last).to_be_focused()
    expect(last).to_have_attribute("aria-invalid", "true")
    expect(last).to_have_accessible_description(re.compile("^Write the name as on the passport"))
    expect(page.get_by_label("Contact email")).to_have_accessible_description(
        "Give an email address like ada@example.com."
    )
    expect(page.get_by_label("First name")).not_to_have_attribute("aria-invalid", "true")
    assert "Check the passenger form: 2 fields need changing." in page.evaluate("window.announced")
    expect(page.locator("#pay-button")).to_be_disabled()
    last.fill("Lovelace")
    page.get_by_label("Contact email").fill("ada@example.com")
    page.get_by_role("button", name="Save passengers").click()
    expect(page.locator("#pay-button")).to_be_enabled()
    expect(last).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#pay-why")).to_be_empty()


def test_seats_and_states_are_named_in_words(site):
    from playwright.sync_api import expect

    long_flight()
    site.start()
    page = open_page(site, DESKTOP)
    book(site, page, "F-300")
    expect(page.locator("#state")).to_have_text("No seats yet")
    names = {
        label: seat(page, label).locator("input").get_attribute("aria-label") for label in ("3C", "3D", "10F", "5B")
    }
    assert names == {
        "3C": "Row 3, seat C, aisle, Front 129.00 EUR, available",
        "3D": "Row 3, seat D, aisle, Front 129.00 EUR, available",
        "10F": "Row 10, seat F, window, by the wing, Standard 89.00 EUR, available",
        "5B": "Row 5, seat B, middle, Standard 89.00 EUR, available",
    }
    seat(page, "5B").click()
    expect(seat(page, "5B").locator("input")).to_have_attribute(
        "aria-label", "Row 5, seat B, middle, Standard 89.00 EUR, held for you"
    )
    expect(page.locator("#state")).to_have_text("Seats held")
    assert "SEATS_SELECTED" not in page.inner_text("body") and "mine" not in page.inner_text("body")


def test_the_countdown_speaks_at_one_minute_only(site):
    from playwright.sync_api import expect

    site.start(SEAT_HOLD_SECONDS=62)
    page = open_page(site, DESKTOP)
    book(site, page)
    page.evaluate(RECORD_ANNOUNCEMENTS)
    countdown = page.locator("#countdown")
    assert countdown.evaluate("el => el.closest('[aria-live], [role=status], [role=alert]')") is None
    seat(page, "1A").click()
    expect(page.locator("#countdown-time")).to_have_text(re.compile("^00:5[0-9]$"), timeout=5000)
    page.wait_for_timeout(1500)  # a few more seconds of ticking: still only the one announcement
    assert page.evaluate("window.announced") == ["1 minute left to pay. Choose More time to keep your seats longer."]


def test_the_end_of_the_hold_is_said_once_and_focused(site):
    from playwright.sync_api import expect

    site.start(SEAT_HOLD_SECONDS=3)
    page = open_page(site, DESKTOP)
    book(site, page)
    page.evaluate(RECORD_ANNOUNCEMENTS)
    seat(page, "1A").click()
    expect(page.locator("#final-title")).to_have_text("The hold expired", timeout=6000)
    expect(page.locator("#final-title")).to_be_focused()
    page.wait_for_timeout(300)
    assert page.evaluate("window.announced") == [
        "The hold expired Your hold on seat 1A ended after 3 seconds, so it went back on sale. Nothing was charged. "
        "You can hold it again."
    ]


def test_more_time_extends_the_hold_before_it_ends(site):
    from playwright.sync_api import expect

    site.start(SEAT_HOLD_SECONDS=8)
    page = open_page(site, DESKTOP)
    book(site, page)
    seat(page, "2A").click()
    expect(page.locator("#countdown-time")).to_have_text("00:04", timeout=6000)
    page.get_by_role("button", name="More time").click()
    expect(page.locator("#countdown-time")).to_have_text(re.compile("^00:0[78]$"))
    expect(page.locator("#state")).to_have_text("Seats held")


def test_paying_announces_and_focuses_the_outcome(site):
    from playwright.sync_api import expect

    site.start()
    page = open_page(site, DESKTOP)
    book(site, page)
    page.evaluate(RECORD_ANNOUNCEMENTS)
    seat(page, "4D").click()
    expect(seat(page, "4D")).to_have_attribute("data-state", "mine")
    name_passengers(page)
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#final-title")).to_have_text("Booked!")
    expect(page.locator("#final-title")).to_be_focused()
    page.wait_for_timeout(300)
    said = page.evaluate("window.announced")[-1]
    assert re.fullmatch("Booked! Your seats 4D on FL-001 are booked. Booking reference: [A-Z2-9]{6}.", said), said


def test_reduced_motion_stops_the_pulse(site):
    site.start()
    pulse = "el => { el.classList.add('pending'); return getComputedStyle(el.querySelector('span')).animationName; }"
    page = open_page(site, DESKTOP)
    book(site, page)
    assert seat(page, "1A").evaluate(pulse) == "pulse"
    calm = open_page(site, DESKTOP, reduced_motion="reduce")
    book(site, calm)
    assert seat(calm, "1A").evaluate(pulse) == "none"
