"""Dropped connections: the web process restarts (a real SIGTERM and a new process on the same port)
while the page is open."""

import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

from tests.http import call
from tests.pages.tools import (
    DESKTOP,
    OUTCOME_TIMEOUT_MS,
    book,
    name_passengers,
    open_page,
    restart_web,
    seat,
    start_web,
    stop_web,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_reconnecting_goes_away_when_the_streams_are_back(site):
    from playwright.sync_api import expect

    site.start()
    page = open_page(site, DESKTOP)
    book(site, page)
    seat(page, "1A").click()
    expect(seat(page, "1A")).to_have_attribute("data-state", "mine")
    expect(page.locator("#live")).to_be_hidden()
    restart_web(site)
    expect(page.locator("#live")).to_be_hidden(timeout=8000)  # resumed streams send no data, only stream-open
    # And the page is live again: another traveller's hold shows up.
    _status, body = call(site.base, "POST", "/orders", {"flightID": "FL-001"})
    call(site.base, "POST", f"/orders/{body['orderID']}/seats", {"seats": ["2B"]}, body["token"])
    expect(seat(page, "2B")).to_have_attribute("data-state", "held", timeout=3000)


def test_the_page_says_so_while_the_server_is_away_and_reconnecting_shows(site):
    from playwright.sync_api import expect

    site.start()
    page = open_page(site, DESKTOP)
    book(site, page)
    stop_web(site)
    expect(page.locator("#live")).to_be_visible(timeout=5000)
    expect(page.locator("#live")).to_have_text("Reconnecting…")
    start_web(site)
    expect(page.locator("#live")).to_be_hidden(timeout=8000)


def test_paying_while_the_server_is_away_says_so_and_pay_works_once_it_is_back(site):
    from playwright.sync_api import expect

    site.start()
    page = open_page(site, DESKTOP)
    book(site, page)
    seat(page, "3C").click()
    expect(seat(page, "3C")).to_have_attribute("data-state", "mine")
    name_passengers(page)
    stop_web(site)
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#payment-error")).to_contain_text("The server did not answer")
    expect(page.locator("#pay-button")).to_be_enabled()
    start_web(site)
    expect(page.locator("#live")).to_be_hidden(timeout=8000)
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#final-title")).to_have_text("Booked!", timeout=OUTCOME_TIMEOUT_MS)
