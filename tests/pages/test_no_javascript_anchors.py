"""Without JavaScript, every form of the booking page brings the traveller back to the part that changed
(orders/page_anchors.py): the address names it (#summary, #passengers, #best-form, #final) and that part,
with the form's answer beside it, is on screen; a refused passenger field takes the focus instead. On a phone (390x844), where the booking page is long."""

import os
import re

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

from tests.http import call
from tests.pages.tools import PHONE, SMALL_PHONE, book, long_flight, open_page

pytestmark = pytest.mark.django_db(transaction=True)


def send(page, button: str) -> None:
    """Press the form's button and wait for the page it comes back to."""
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()


def back_at(page, anchor: str, *shown: str) -> None:
    """The page came back at `anchor`, and it and each of `shown` are on screen."""
    from playwright.sync_api import expect

    assert page.url.endswith(f"#{anchor}"), page.url
    for selector in (f"#{anchor}", *shown):
        expect(page.locator(selector)).to_be_in_viewport()


def test_each_form_returns_to_the_part_that_changed(site):
    from playwright.sync_api import expect

    long_flight()
    site.start(PAYMENT_LATENCY_SECONDS=30)  # the payment stays running: the page shows it paying
    _status, other = call(site.base, "POST", "/orders", {"flightID": "F-300"})
    page = open_page(site, PHONE, java_script_enabled=False)
    book(site, page, "F-300")
    page.locator('.seat[data-seat="20A"] input').check()
    page.locator('.seat[data-seat="20B"] input').check()
    assert call(site.base, "POST", f"/orders/{other['orderID']}/seats", {"seats": ["20B"]}, other["token"])[0] == 200
    send(page, "Hold the ticked seats")  # 20B was taken meanwhile: refused
    back_at(page, "summary", "#seat-error")
    expect(page.locator("#seat-error")).to_contain_text("20B")
    expect(page.locator('.seat[data-seat="20B"] input')).to_be_disabled()  # held by the other traveller now
    page.locator('.seat[data-seat="20A"] input').check()
    send(page, "Hold the ticked seats")
    back_at(page, "summary", "#your-seats")
    expect(page.locator("#your-seats")).to_have_text("20A")

    page.get_by_label("Seats together").select_option("9")
    page.get_by_label("Cabin zone").select_option("Extra legroom")
    call(site.base, "POST", f"/orders/{other['orderID']}/seats", {"best": 9, "zone": "Extra legroom"}, other["token"])
    send(page, "Find seats together")
    back_at(page, "best-form", "#best-error")
    expect(page.locator("#best-error")).not_to_be_empty()

    group = page.locator("#passenger-rows .passenger").first
    group.get_by_label("First name").fill("Ada")
    group.get_by_label("Last name").fill("Lovelace 3")
    send(page, "Save passengers")  # refused: no anchor, the refused field takes the focus (autofocus) instead
    expect(page.get_by_label("Last name")).to_be_focused()
    expect(page.locator("#last-20A-error")).to_be_in_viewport()
    group.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Contact email").fill("ada@example.com")
    send(page, "Save passengers")
    back_at(page, "passengers", "#passenger-saved")
    expect(page.locator("#passenger-saved")).not_to_be_empty()

    page.locator("#code").fill("12345")
    send(page, "Pay")
    back_at(page, "summary", "#progress")
    expect(page.locator("#progress")).to_contain_text("This page refreshes every 10 seconds")
    # Every 10 s, to what matters now (#now: the progress while paying, the outcome once there is one), at an
    # address of its own each time.
    refresh = re.compile(r"^10; url=/booking/[^?#]+\?refreshed=\d+#now$")
    expect(page.locator('meta[http-equiv="refresh"]')).to_have_attribute("content", refresh)


def test_a_cancellation_returns_to_the_outcome(site):
    from playwright.sync_api import expect

    site.start()
    page = open_page(site, PHONE, java_script_enabled=False)
    book(site, page)
    page.locator('.seat[data-seat="5F"] input').check()
    send(page, "Hold the ticked seats")
    back_at(page, "summary")
    page.locator("#cancel summary").click()
    send(page, "Yes, cancel the booking")
    back_at(page, "final", "#final-title")
    expect(page.locator("#final-title")).to_have_text("Booking cancelled")


def test_the_paying_page_refreshes_to_the_progress_and_then_to_the_outcome_on_a_small_phone(site):
    """The refresh's address is written while paying; the same fragment must land on the progress while the
    payment runs and on the outcome once there is one (the side column has no box of its own on a phone)."""
    from playwright.sync_api import expect

    from orders.models import Order, OrderState

    long_flight()
    site.start(PAYMENT_LATENCY_SECONDS=4, PAYMENT_FAILURE_RATE=0)
    page = open_page(site, SMALL_PHONE, java_script_enabled=False)
    order_id = book(site, page, "F-300")
    page.locator('.seat[data-seat="20A"] input').check()
    send(page, "Hold the ticked seats")
    group = page.locator("#passenger-rows .passenger").first
    group.get_by_label("First name").fill("Ada")
    group.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Contact email").fill("ada@example.com")
    send(page, "Save passengers")
    page.locator("#code").fill("12345")
    send(page, "Pay")
    refresh = page.locator('meta[http-equiv="refresh"]').get_attribute("content")
    assert refresh and refresh.startswith("10; url=/booking/"), refresh
    address = site.base + refresh.split("url=", 1)[1]
    page.goto(address)  # as the refresh does, while the payment runs
    expect(page.locator("#progress")).to_contain_text("This page refreshes every 10 seconds")
    expect(page.locator("#progress")).to_be_in_viewport()
    for _ in range(60):
        if Order.objects.get(pk=order_id).state == OrderState.CONFIRMED:
            break
        page.wait_for_timeout(250)
    page.goto("about:blank")  # the next refresh, once it is paid: at an address of its own, a whole load
    page.goto(address)
    expect(page.locator("#final-title")).to_have_text("Booked!")
    expect(page.locator("#final-title")).to_be_in_viewport()
