"""axe-core on every page and state a traveller meets, at 1280x900, 390x844 and 360x640 (each state reached
once, the page resized: tests/pages/tools.py, assert_accessible_at_all_sizes): 0 violations of WCAG 2.2 A/AA
and axe's best practices. Timed states with short settings. The booking's other controls too: find seats
together, the passenger form, the reference, the receipt, find my booking; the page without JavaScript; the
admin's front page and dashboard, as a superuser sees them."""

import os
import re

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

from tests.http import call
from tests.pages.tools import (
    DESKTOP,
    OUTCOME_TIMEOUT_MS,
    assert_accessible,
    book,
    long_flight,
    name_passengers,
    open_page,
    seat,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_home_booking_held_last_minute_and_expired_have_no_violations(site):
    from playwright.sync_api import expect

    site.start(SEAT_HOLD_SECONDS=8)  # long enough for axe to check the last minute before it ends
    page = open_page(site, DESKTOP)
    page.goto(site.base + "/")
    assert_accessible(page, "home")
    book(site, page)
    assert_accessible(page, "booking, no seats yet")
    seat(page, "1A").click()
    expect(seat(page, "1A")).to_have_attribute("data-state", "mine")
    expect(page.locator("#countdown")).to_have_attribute("data-phase", "warning")  # the hold's last minute
    assert_accessible(page, "booking, seats held, last minute")
    expect(page.locator("#final-title")).to_have_text("The hold expired", timeout=10_000)
    assert_accessible(page, "booking, hold expired")


def test_held_for_long_has_no_violations(site):
    from playwright.sync_api import expect

    site.start()
    page = open_page(site, DESKTOP)
    book(site, page)
    seat(page, "2C").click()
    expect(seat(page, "2C")).to_have_attribute("data-state", "mine")
    expect(page.locator("#countdown")).to_have_attribute("data-phase", "ok")
    assert_accessible(page, "booking, seats held")
    page.reload()  # as the server renders it
    assert_accessible(page, "booking, seats held, reloaded")
    page.locator("#cancel summary").click()
    page.get_by_role("button", name="Yes, cancel the booking").click()
    expect(page.locator("#final-title")).to_have_text("Booking cancelled")
    assert_accessible(page, "booking, cancelled")


def test_paying_confirmed_and_failed_have_no_violations(site):
    from playwright.sync_api import expect

    site.start(PAYMENT_LATENCY_SECONDS=2.5, PAYMENT_FAILURE_RATE=0)
    page = open_page(site, DESKTOP)
    book(site, page)
    seat(page, "1B").click()
    expect(seat(page, "1B")).to_have_attribute("data-state", "mine")
    name_passengers(page)
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#state")).to_have_text("Paying")
    assert_accessible(page, "booking, paying")
    expect(page.locator("#final-title")).to_have_text("Booked!", timeout=OUTCOME_TIMEOUT_MS)
    assert_accessible(page, "booking, booked")


def test_failed_payment_has_no_violations(site):
    from playwright.sync_api import expect

    site.start(PAYMENT_FAILURE_RATE=1, PAYMENT_BACKOFF_INITIAL_SECONDS=0.2)
    page = open_page(site, DESKTOP)
    book(site, page)
    seat(page, "3A").click()
    expect(seat(page, "3A")).to_have_attribute("data-state", "mine")
    name_passengers(page)
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#final-title")).to_have_text("Payment failed", timeout=OUTCOME_TIMEOUT_MS)
    assert_accessible(page, "booking, payment failed")
    page.reload()
    assert_accessible(page, "booking, payment failed, reloaded")


def test_error_pages_have_no_violations(site):
    from django.template.loader import render_to_string

    site.start()
    page = open_page(site, DESKTOP)
    response = page.goto(site.base + "/no/such/page")
    assert response.status == 404
    assert_accessible(page, "404 page")
    page.goto(site.base + "/booking/o-unknown")
    assert_accessible(page, "unknown booking")
    _status, body = call(site.base, "POST", "/orders", {"flightID": "FL-001"})
    page.goto(f"{site.base}/booking/{body['orderID']}")
    assert_accessible(page, "someone else's booking")
    # A 500 cannot be caused on purpose: the page Django would send (handler500 renders 500.html).
    page.route(
        "**/broken",
        lambda route: route.fulfill(status=500, body=render_to_string("500.html"), content_type="text/html"),
    )
    page.goto(site.base + "/broken")
    assert_accessible(page, "500 page")


def test_seats_together_passengers_find_my_booking_and_the_receipt_have_no_violations(site):
    """Find N seats together (and its refusal), the passenger form (with errors, saved), the reference
    on confirmation, the receipt, find my booking (empty and refused), and the page without JavaScript."""
    from playwright.sync_api import expect

    long_flight()
    site.start()
    _status, other = call(site.base, "POST", "/orders", {"flightID": "F-300"})
    call(site.base, "POST", f"/orders/{other['orderID']}/seats", {"best": 9, "zone": "Extra legroom"}, other["token"])
    page = open_page(site, DESKTOP)
    book(site, page, "F-300")
    page.get_by_label("Seats together").select_option("4")
    page.get_by_label("Cabin zone").select_option("Extra legroom")
    page.get_by_role("button", name="Find seats together").click()
    expect(page.locator("#best-error")).to_contain_text("you asked for 4 (1 short)")
    assert_accessible(page, "booking, seats together refused")
    page.get_by_label("Cabin zone").select_option("")
    page.get_by_role("button", name="Find seats together").click()
    expect(page.locator("#best-proposal-text")).to_have_text(re.compile(r" in Standard: 356\.00 EUR\.$"))
    assert_accessible(page, "booking, seats together proposed")
    page.get_by_role("button", name="Hold these seats").click()
    expect(page.locator("#passenger-rows .passenger")).to_have_count(4)
    page.get_by_role("button", name="Save passengers").click()
    expect(page.get_by_label("Contact email")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, "booking, passenger errors")
    name_passengers(page)
    assert_accessible(page, "booking, passengers saved, Pay open")
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#booking-reference")).to_have_text(re.compile("^[A-Z2-9]{6}$"), timeout=OUTCOME_TIMEOUT_MS)
    assert_accessible(page, "booking, booked with its reference")
    page.get_by_role("link", name="Printable receipt").click()
    assert_accessible(page, "receipt")
    fresh = open_page(site, DESKTOP)
    fresh.goto(site.base + "/find-booking")
    assert_accessible(fresh, "find my booking")
    fresh.get_by_label("Booking reference").fill("ABCDEF")
    fresh.get_by_label("Last name").fill("Lovelace")
    fresh.get_by_role("button", name="Find my booking").click()
    expect(fresh.locator("#find-error")).to_be_visible()
    assert_accessible(fresh, "find my booking, refused")
    fresh.goto(page.url.replace("/receipt", ""))  # someone else's booking: closed, pointing to find my booking
    assert_accessible(fresh, "someone else's booking")


def test_the_page_without_javascript_has_no_violations(site):
    """The pages as the server renders them (the booking page's script blocked, so axe can still run): a
    refusal's message on the home page, the message after a change, errors beside fields, paying, booked."""
    from playwright.sync_api import expect

    site.start(PAYMENT_LATENCY_SECONDS=2, PAYMENT_FAILURE_RATE=0)
    page = open_page(site, DESKTOP)
    page.route(re.compile(r"/js/booking[^/]*\.js"), lambda route: route.abort())
    page.goto(site.base + "/")
    page.locator('form[action="/book/FL-001"]').evaluate("form => { form.action = '/book/NO-SUCH-FLIGHT'; }")
    page.get_by_role("button", name="Book seats on FL-001").click()
    expect(page.locator(".message.error")).to_be_visible()  # the flight is not found: said on the home page
    assert_accessible(page, "home without JavaScript, a refusal's message")
    book(site, page)
    page.locator('.seat[data-seat="2A"] input').check()
    page.get_by_role("button", name="Hold the ticked seats").click()
    expect(page.locator(".message")).to_be_visible()
    assert_accessible(page, "booking without JavaScript, seats held, a message")
    group = page.locator("#passenger-rows .passenger").first
    group.get_by_label("First name").fill("Ada")
    group.get_by_label("Last name").fill("Lovelace 3")
    page.get_by_role("button", name="Save passengers").click()
    expect(page.locator("[aria-invalid=true]")).to_have_count(1)  # the first refusal: the last name
    assert_accessible(page, "booking without JavaScript, passenger errors")
    name_passengers(page)
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#state")).to_have_attribute("data-state", "PROCESSING_PAYMENT")
    assert_accessible(page, "booking without JavaScript, paying")
    for _ in range(OUTCOME_TIMEOUT_MS // 500):  # reloaded by hand: <noscript>'s refresh needs scripts off
        page.wait_for_timeout(500)
        page.reload()
        if page.locator("#final-title").text_content() == "Booked!":
            break
    expect(page.locator("#final-title")).to_have_text("Booked!")
    assert_accessible(page, "booking without JavaScript, booked")


def test_the_admin_dashboard_has_no_violations(site):
    """The admin's front page and the service dashboard as a superuser sees them, with figures in the panels
    and every per-minute table open (each a scrolling region, named apart)."""
    from django.contrib.auth.models import User
    from playwright.sync_api import expect

    User.objects.create_superuser("operator", password="a-long-operator-password")
    site.start()
    for seats in (["1A", "1B"], ["2C"]):
        _status, body = call(site.base, "POST", "/orders", {"flightID": "FL-001"})
        call(site.base, "POST", f"/orders/{body['orderID']}/seats", {"seats": seats}, body["token"])
    page = open_page(site, DESKTOP)
    page.goto(site.base + "/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill("a-long-operator-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Service dashboard")).to_be_visible()
    assert_accessible(page, "admin front page")
    page.get_by_role("link", name="Service dashboard").click()
    for summary in page.locator(".dash-minutes summary").all():
        summary.click()
    expect(page.locator(".dash-minutes[open]")).to_have_count(3)
    assert_accessible(page, "admin dashboard, the per-minute tables open")
