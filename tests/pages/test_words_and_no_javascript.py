"""Without JavaScript every step says what happened; plain words for travellers; a cancel that asks first;
friendly error pages and a favicon; the cabin's orientation on the map."""

import os
import re

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

from tests.pages.tools import DESKTOP, OUTCOME_TIMEOUT_MS, book, long_flight, name_passengers, open_page, seat

pytestmark = pytest.mark.django_db(transaction=True)


def test_without_javascript_the_deadline_the_wait_and_the_outcome_are_shown(site):
    from playwright.sync_api import expect

    site.start(PAYMENT_LATENCY_SECONDS=1)
    page = open_page(site, DESKTOP, java_script_enabled=False)
    book(site, page)
    page.get_by_label("Row 4, seat A, window, Standard 100.00 EUR, available").check()
    page.get_by_role("button", name="Hold the ticked seats").click()
    expect(page.locator("#countdown")).to_be_visible()
    assert re.fullmatch(r"Seats held until \d\d:\d\d:\d\d UTC\s+More time", page.locator("#countdown").inner_text())
    assert "--:--" not in page.inner_text("body")
    name_passengers(page)
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#progress")).to_have_text(
        "Paying… This page refreshes every 10 seconds until the payment is done."
    )
    expect(page.locator("#final-title")).to_have_text(
        "Booked!", timeout=OUTCOME_TIMEOUT_MS
    )  # the page refreshed itself
    expect(page.locator("#final-text")).to_have_text("Your seats 4A on FL-001 are booked.")


def test_without_javascript_a_failed_payment_says_why_once(site):
    from playwright.sync_api import expect

    site.start(PAYMENT_FAILURE_RATE=1, PAYMENT_BACKOFF_INITIAL_SECONDS=0.2)
    page = open_page(site, DESKTOP, java_script_enabled=False)
    book(site, page)
    page.get_by_label("Row 2, seat C, aisle, Standard 100.00 EUR, available").check()
    page.get_by_role("button", name="Hold the ticked seats").click()
    name_passengers(page)
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#final-title")).to_have_text("Payment failed", timeout=OUTCOME_TIMEOUT_MS)
    expect(page.locator("#final-text")).to_have_text(
        "The payment did not go through after 3 tries (the bank declined the payment). Nothing was charged, and "
        "seat 2C went back on sale. You can hold it again, keeping the names you gave."
    )
    assert "simulated failure" not in page.inner_text("body")


def test_cancel_asks_first(site):
    from playwright.sync_api import expect

    site.start()
    page = open_page(site, DESKTOP)
    book(site, page)
    seat(page, "1C").click()
    expect(seat(page, "1C")).to_have_attribute("data-state", "mine")
    page.get_by_text("Cancel booking").click()
    page.wait_for_timeout(500)
    expect(page.locator("#state")).to_have_text("Seats held")
    page.get_by_role("button", name="Yes, cancel the booking").click()
    expect(page.locator("#final-title")).to_have_text("Booking cancelled")
    expect(seat(page, "1C")).to_have_attribute("data-state", "available")


def test_friendly_pages_for_unknown_bookings_and_paths_a_favicon_and_the_real_hold_time(site):
    from playwright.sync_api import expect

    site.start(SEAT_HOLD_SECONDS=20)
    page = open_page(site, DESKTOP)
    page.goto(site.base + "/")
    expect(page.get_by_text("they are yours for 20 seconds while you pay")).to_be_visible()
    response = page.goto(site.base + "/booking/o-unknown")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("We cannot find this booking")
    response = page.goto(site.base + "/no/such/page")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("There is no page here")
    expect(page.get_by_role("link", name="See the flights on offer")).to_be_visible()
    response = page.goto(site.base + "/favicon.ico")
    assert response.status == 200 and response.headers["content-type"] == "image/x-icon"


def test_the_map_shows_the_front_the_letters_the_exits_and_the_wings(site):
    from playwright.sync_api import expect

    long_flight()
    site.start()
    page = open_page(site, DESKTOP)
    book(site, page, "F-300")
    expect(page.get_by_text("Front of the cabin")).to_be_visible()
    assert page.locator(".seatrow.letters [role=columnheader]").all_inner_texts() == ["Row", *"ABCDEF"]
    exits = page.locator(".seatrow.exit-row [role=rowheader]").all_inner_texts()
    wings = page.locator(".seatrow.wing-row [role=rowheader]").all_inner_texts()
    assert exits == ["1", "12", "13"] and wings == [str(n) for n in range(10, 19)]
    assert page.locator(".exit-row").first.locator(".exit-label").all_inner_texts() == ["EXIT", "EXIT"]
    legend, grid = page.locator(".legend").first.bounding_box(), page.locator("#seatmap").bounding_box()
    assert legend and grid and legend["x"] >= grid["x"] + grid["width"]  # beside the map on a wide screen


def test_without_javascript_find_seats_together_and_the_passenger_form(site):
    """Seats together and passengers without JavaScript: the forms post; the shortfall in plain words; the total on Pay; errors
    beside their fields; the names kept and shown again; Pay closed until every seat has a passenger."""
    from playwright.sync_api import expect

    from tests.http import call

    long_flight()
    site.start()
    _status, other = call(site.base, "POST", "/orders", {"flightID": "F-300"})
    call(site.base, "POST", f"/orders/{other['orderID']}/seats", {"best": 9, "zone": "Extra legroom"}, other["token"])
    page = open_page(site, DESKTOP, java_script_enabled=False)
    book(site, page, "F-300")
    pay = page.locator("#pay-button")
    expect(pay).to_be_disabled()
    expect(page.locator("#pay-why")).to_have_text("Choose your seats first.")
    page.get_by_label("Seats together").select_option("4")
    page.get_by_label("Cabin zone").select_option("Extra legroom")
    page.get_by_role("button", name="Find seats together").click()
    expect(page.locator("#best-error")).to_have_text(  # beside the form, where the page comes back (#best-form)
        "Only 3 seats are free in zone Extra legroom on flight F-300; you asked for 4 (1 short). Ask for fewer "
        "or another zone."
    )
    page.get_by_label("Cabin zone").select_option("Extra legroom")
    page.get_by_label("Seats together").select_option("2")
    page.get_by_role("button", name="Find seats together").click()
    expect(page.locator("#best-proposal-text")).to_have_text(
        re.compile(r"^13[A-F], 13[A-F] in Extra legroom: 238\.00 EUR\.$")
    )
    page.get_by_role("button", name="Hold these seats").click()
    expect(page.locator(".message")).to_have_text("Seats updated.")
    expect(page.locator("#summary-total")).to_have_text("Total 238.00 EUR")
    expect(pay).to_have_text("Pay 238.00 EUR")
    expect(pay).to_be_disabled()
    expect(page.locator("#pay-why")).to_have_text("Before paying, name a passenger for each seat.")
    rows = page.locator("#passenger-rows .passenger")
    rows.nth(0).get_by_label("First name").fill("Ada")
    rows.nth(0).get_by_label("Last name").fill("Lovelace")
    rows.nth(1).get_by_label("First name").fill("Grace")
    rows.nth(1).get_by_label("Last name").fill("Hopper <3")
    page.get_by_label("Contact email").fill("ada@example.com")
    page.get_by_role("button", name="Save passengers").click()
    wrong = rows.nth(1).get_by_label("Last name")
    expect(wrong).to_have_attribute("aria-invalid", "true")
    expect(wrong).to_have_accessible_description(re.compile("^Write the name as on the passport"))
    expect(wrong).to_be_focused()
    expect(pay).to_be_disabled()
    # The refused form comes back empty until its handler keeps what was typed (orders/views.py, TYPED_PASSENGERS).
    rows.nth(0).get_by_label("First name").fill("Ada")
    rows.nth(0).get_by_label("Last name").fill("Lovelace")
    rows.nth(1).get_by_label("First name").fill("Grace")
    wrong.fill("Hopper")
    page.get_by_label("Contact email").fill("ada@example.com")
    page.get_by_role("button", name="Save passengers").click()
    expect(page.locator("#passenger-saved")).to_have_text("Passengers saved.")  # beside the form (#passengers)
    expect(pay).to_be_enabled()
    page.reload()  # shown again as saved
    expect(rows.nth(1).get_by_label("Last name")).to_have_value("Hopper")
    expect(page.get_by_label("Contact email")).to_have_value("ada@example.com")
