"""Fares, passengers and find my booking in a real browser (Chromium, a real server, worker and timer loop): a traveller books two named
passengers on the server's best seats by clicks, pays the total shown, sees the reference, and opens the
booking again from a fresh browser through "Find my booking"; the worker emailed the confirmation (console
backend). Find my booking and the receipt for a booking made over the API, and a wrong name refused."""

import os
import re

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.http import call
from tests.orders import test_views_browser as views_browser
from tests.processes import wait_until

browser, site, shot, seat = views_browser.browser, views_browser.site, views_browser.shot, views_browser.seat

pytestmark = pytest.mark.django_db(transaction=True)


def booked_over_the_api(base: str) -> tuple[str, str, str]:
    """An order on FL-001 with 2 best seats, two passengers, paid: (order id, reference, total)."""
    _, order = call(base, "POST", "/orders", {"flightID": "FL-001"})
    order_id, token = order["orderID"], order["token"]
    status, held = call(base, "POST", f"/orders/{order_id}/seats", {"best": 2}, token)
    assert status == 200 and len(held["Seats"]) == 2, held
    passengers = [
        {"seat": held["Seats"][0], "firstName": "Ada", "lastName": "Lovelace"},
        {"seat": held["Seats"][1], "firstName": "José", "lastName": "Núñez"},
    ]
    status, _ = call(
        base, "POST", f"/orders/{order_id}/passengers", {"passengers": passengers, "email": "ada@example.com"}, token
    )
    assert status == 200
    assert call(base, "POST", f"/orders/{order_id}/payment", {"code": "12345"}, token)[0] == 202

    def confirmed():
        return call(base, "GET", f"/orders/{order_id}/status", token=token)[1]["State"] == "CONFIRMED"

    wait_until(confirmed, timeout=15, what="the payment")
    final = call(base, "GET", f"/orders/{order_id}/status", token=token)[1]
    return order_id, final["Reference"], f"{final['Total']} {final['Currency']}"


def test_two_named_passengers_on_best_seats_pay_the_total_and_find_the_booking_again(site):
    """A whole booking, all by clicks: best seats, two named passengers, Pay the total shown,
    the reference; a fresh browser opens the booking again through "Find my booking"."""
    from playwright.sync_api import expect

    site.start()
    page = site.traveller()
    order_id = site.book(page)
    pay = page.locator("#pay-button")
    expect(page.locator("#pay-why")).to_have_text("Choose your seats first.")
    page.get_by_label("Seats together").select_option("2")
    page.get_by_role("button", name="Find seats together").click()
    page.get_by_role("button", name="Hold these seats").click()  # proposed with their price first
    expect(page.locator("#your-seats")).to_have_text(re.compile(r"^\d+[A-F], \d+[A-F]$"))
    first, second = page.locator("#your-seats").inner_text().split(", ")
    expect(seat(page, first)).to_have_attribute("data-state", "mine")
    expect(page.locator("#summary-total")).to_have_text("Total 200.00 EUR")  # 2 x the test flight's 100.00
    expect(pay).to_have_text("Pay 200.00 EUR")
    expect(pay).to_be_disabled()
    expect(page.locator("#pay-why")).to_have_text("Before paying, name a passenger for each seat.")
    for label, given, family in ((first, "Ada", "Lovelace"), (second, "José", "Núñez")):
        group = page.get_by_role("group", name=f"Seat {label}")
        group.get_by_label("First name").fill(given)
        group.get_by_label("Last name").fill(family)
    page.get_by_label("Contact email").fill("ada@example.com")
    page.get_by_role("button", name="Save passengers").click()
    expect(page.locator("#passenger-saved")).to_have_text("Passengers saved. You can pay now.")
    expect(pay).to_be_enabled()
    expect(page.locator("#pay-why")).to_be_empty()
    shot(page, "passengers-named")
    page.locator("#code").fill("12345")
    pay.click()
    expect(page.locator("#final-title")).to_have_text("Booked!", timeout=15_000)
    expect(page.locator("#booking-reference")).to_have_text(re.compile(r"^[A-Z2-9]{6}$"))
    reference = page.locator("#booking-reference").inner_text()
    shot(page, "booked-with-reference")
    page.get_by_role("link", name="Printable receipt").click()
    expect(page.locator("#booking-reference")).to_have_text(reference)
    expect(page.locator("#receipt-total")).to_have_text("200.00 EUR")  # what Pay said
    expect(page.get_by_text("José Núñez")).to_be_visible()

    fresh = site.traveller()  # a fresh browser context: no session
    fresh.goto(f"{site.base}/booking/{order_id}")
    expect(fresh.locator("h1")).to_have_text("This booking is not open to you")
    expect(fresh.get_by_role("navigation", name="Site").get_by_role("link", name="Find my booking")).to_be_visible()
    fresh.goto(site.base + "/")
    fresh.get_by_role("main").get_by_role("link", name="Find my booking").click()
    fresh.get_by_label("Booking reference").fill(reference.lower())
    fresh.get_by_label("Last name").fill("Nunez")
    fresh.get_by_role("button", name="Find my booking").click()
    fresh.wait_for_url(f"**/booking/{order_id}")
    expect(fresh.locator("#final-title")).to_have_text("Booked!")
    expect(fresh.locator("#booking-reference")).to_have_text(reference)
    expect(fresh.locator("#your-seats")).to_have_count(1)

    def emailed() -> bool:  # the console backend writes the email to the worker's output
        return any(f"Booking reference: {reference}" in log.read_text() for log in site.processes.log_dir.glob("*.log"))

    wait_until(emailed, timeout=10, what="the confirmation email")


def test_a_fresh_browser_finds_a_booking_made_by_the_api(site):
    from playwright.sync_api import expect

    site.start()
    order_id, reference, total = booked_over_the_api(site.base)
    page = site.traveller()
    page.goto(f"{site.base}/find-booking")
    page.get_by_label("Booking reference").fill(reference)
    page.get_by_label("Last name").fill("Lovelace")
    shot(page, "find-booking")
    page.get_by_role("button", name="Find my booking").click()
    page.wait_for_url(f"**/booking/{order_id}")
    page.goto(f"{site.base}/booking/{order_id}/receipt")
    expect(page.locator("#receipt-total")).to_have_text(total)
    shot(page, "receipt")


def test_a_wrong_last_name_is_refused_on_the_page(site):
    site.start()
    _order_id, reference, _total = booked_over_the_api(site.base)
    page = site.traveller()
    page.goto(f"{site.base}/find-booking")
    page.get_by_label("Booking reference").fill(reference)
    page.get_by_label("Last name").fill("Turing")
    page.get_by_role("button", name="Find my booking").click()
    assert "No booking has this reference" in page.locator("#find-error").inner_text()
