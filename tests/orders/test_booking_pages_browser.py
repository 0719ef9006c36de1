"""Find my booking and the receipt in a real browser (Chromium, a real server, worker and timer loop):
a booking made over the API with the server's best seats and two named passengers is opened again from
a fresh browser by its reference and a last name; the worker emailed its confirmation (console backend)."""

import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.http import call
from tests.orders import test_views_browser as views_browser
from tests.processes import wait_until

browser, site, shot = views_browser.browser, views_browser.site, views_browser.shot  # the page tests' fixtures

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


def test_a_fresh_browser_finds_the_booking_by_reference_and_last_name(site):
    from playwright.sync_api import expect

    site.start()
    order_id, reference, total = booked_over_the_api(site.base)
    page = site.traveller()
    page.goto(f"{site.base}/booking/{order_id}")
    assert "not open to you" in page.content()  # a fresh browser: closed
    page.goto(f"{site.base}/find-booking")
    page.get_by_label("Booking reference").fill(reference.lower())
    page.get_by_label("Last name").fill("Nunez")
    shot(page, "find-booking")
    page.get_by_role("button", name="Find my booking").click()
    page.wait_for_url(f"**/booking/{order_id}")
    page.goto(f"{site.base}/booking/{order_id}/receipt")
    expect(page.locator("#booking-reference")).to_have_text(reference)
    expect(page.locator("#receipt-total")).to_have_text(total)
    expect(page.get_by_text("José Núñez")).to_be_visible()
    shot(page, "receipt")

    def emailed() -> bool:  # the console backend writes the email to the worker's output
        return any(f"Booking reference: {reference}" in log.read_text() for log in site.processes.log_dir.glob("*.log"))

    wait_until(emailed, timeout=10, what="the confirmation email")


def test_a_wrong_last_name_is_refused_on_the_page(site):
    site.start()
    _order_id, reference, _total = booked_over_the_api(site.base)
    page = site.traveller()
    page.goto(f"{site.base}/find-booking")
    page.get_by_label("Booking reference").fill(reference)
    page.get_by_label("Last name").fill("Turing")
    page.get_by_role("button", name="Find my booking").click()
    assert "No booking has this reference" in page.locator("#find-error").inner_text()
