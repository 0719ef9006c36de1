"""After a declined payment or a lapsed hold, one button holds the same seats again in a new booking, with
the passengers' names and the email filled in; a seat taken meanwhile is named; with JavaScript or without."""

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
    name_passengers,
    open_page,
    seat,
)

pytestmark = pytest.mark.django_db(transaction=True)

ADA, GRACE = ("Ada", "Lovelace"), ("Grace", "Hopper")


def expect_names(page, names: dict[str, tuple[str, str]], email: str) -> None:
    from playwright.sync_api import expect

    for label, (first, last) in names.items():
        expect(page.locator(f"#first-{label}")).to_have_value(first)
        expect(page.locator(f"#last-{label}")).to_have_value(last)
    expect(page.get_by_label("Contact email")).to_have_value(email)


def test_after_a_declined_payment_hold_again_keeps_the_seats_and_the_names(site):
    from playwright.sync_api import expect

    site.start(PAYMENT_FAILURE_RATE=1, PAYMENT_BACKOFF_INITIAL_SECONDS=0.2)
    page = open_page(site, DESKTOP)
    first_order = book(site, page)
    for label in ("1A", "1B"):
        seat(page, label).click()
        expect(seat(page, label)).to_have_attribute("data-state", "mine")
    name_passengers(page, ADA, GRACE, email="ada@example.org")
    page.locator("#code").fill("12345")
    page.get_by_role("button", name=re.compile("^Pay")).click()
    expect(page.locator("#final-title")).to_have_text("Payment failed", timeout=OUTCOME_TIMEOUT_MS)
    expect(page.locator("#final-text")).to_have_text(
        "The payment did not go through after 3 tries (the bank declined the payment). Nothing was charged, and "
        "seats 1A, 1B went back on sale. You can hold them again, keeping the names you gave."
    )
    again = page.get_by_role("button", name="Hold seats 1A, 1B again")
    expect(again).to_be_visible()
    expect(page.get_by_role("button", name="Start a new booking on FL-001")).to_have_class("secondary")
    assert_accessible(page, "a declined payment's outcome")
    again.click()
    page.wait_for_url(re.compile(r"/booking/(?!" + re.escape(first_order) + ")"))
    expect(page.locator(".messages")).to_contain_text("Seats 1A, 1B are held for you again.")
    for label in ("1A", "1B"):
        expect(seat(page, label)).to_have_attribute("data-state", "mine")
    expect_names(page, {"1A": ADA, "1B": GRACE}, "ada@example.org")
    expect(page.locator("#pay-button")).to_be_enabled()  # nothing to type again: the code, and pay
    assert_accessible(page, "a booking held again")


def test_after_a_lapsed_hold_hold_again_names_the_seat_taken_meanwhile(site):
    from playwright.sync_api import expect

    site.start(SEAT_HOLD_SECONDS=4)
    page = open_page(site, DESKTOP)
    book(site, page)
    for label in ("3A", "3B"):
        seat(page, label).click()
        expect(seat(page, label)).to_have_attribute("data-state", "mine")
    name_passengers(page, ADA, GRACE)
    expect(page.locator("#final-title")).to_have_text("The hold expired", timeout=8000)
    expect(page.locator("#final-text")).to_have_text(
        "Your hold on seats 3A, 3B ended after 4 seconds, so they went back on sale. Nothing was charged. You can "
        "hold them again."
    )
    assert_accessible(page, "a lapsed hold's outcome")
    _status, other = call(site.base, "POST", "/orders", {"flightID": "FL-001"})
    assert call(site.base, "POST", f"/orders/{other['orderID']}/seats", {"seats": ["3B"]}, other["token"])[0] == 200
    page.get_by_role("button", name="Hold seats 3A, 3B again").click()
    expect(page.locator(".messages")).to_have_text(
        "Seat 3B was taken by another traveller meanwhile. Seat 3A is held for you again. Choose a seat for Grace "
        "Hopper. The names and email you gave are filled in: check them, then pay."
    )
    expect(seat(page, "3A")).to_have_attribute("data-state", "mine")
    expect(seat(page, "3B")).to_have_attribute("data-state", "held")
    expect(page.locator("#state")).to_have_text("Seats held")
    expect_names(page, {"3A": ADA}, "ada@example.com")
    seat(page, "4C").click()  # a seat for Grace Hopper: her name comes with it
    expect(seat(page, "4C")).to_have_attribute("data-state", "mine")
    expect_names(page, {"3A": ADA, "4C": GRACE}, "ada@example.com")
    seat(page, "3A").click()  # let go: Ada's name waits for the next seat chosen
    expect(page.locator("#first-3A")).to_have_count(0)
    seat(page, "5D").click()
    expect(seat(page, "5D")).to_have_attribute("data-state", "mine")
    expect_names(page, {"4C": GRACE, "5D": ADA}, "ada@example.com")


def test_without_javascript_a_lapsed_hold_is_held_again(site):
    from playwright.sync_api import expect

    site.start(SEAT_HOLD_SECONDS=3)
    page = open_page(site, DESKTOP, java_script_enabled=False)
    first_order = book(site, page)
    page.get_by_label(re.compile("^Row 2, seat C, ")).check()
    page.get_by_role("button", name="Hold the ticked seats").click()
    name_passengers(page, ADA)
    page.wait_for_timeout(3200)
    page.reload()
    expect(page.locator("#final-title")).to_have_text("The hold expired")
    expect(page.locator("#final-text")).to_contain_text("Your hold on seat 2C ended after 3 seconds")
    page.get_by_role("button", name="Hold seat 2C again").click()
    page.wait_for_url(re.compile(r"/booking/(?!" + re.escape(first_order) + ")"))
    expect(page.locator(".messages")).to_contain_text("Seat 2C is held for you again.")
    expect(page.get_by_label(re.compile("^Row 2, seat C, "))).to_be_checked()
    expect_names(page, {"2C": ADA}, "ada@example.com")
    expect(page.locator("#pay-button")).to_be_enabled()
