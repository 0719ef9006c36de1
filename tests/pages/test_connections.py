"""Dropped connections: the web process restarts (a real SIGTERM and a new process on the same port)
while the page is open, or the network goes silent (tests/pages/relay.py) and the streams' keep-alives
stop coming."""

import os
import re
import time
from types import SimpleNamespace

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

from tests.http import call
from tests.pages.relay import Relay
from tests.pages.tools import (
    DESKTOP,
    OUTCOME_TIMEOUT_MS,
    PHONE,
    assert_accessible,
    book,
    long_flight,
    name_passengers,
    open_page,
    restart_web,
    seat,
    start_web,
    stop_web,
)

# The acceptance's silent drop, with keep-alives every second and requests that give up after two.
DROP_SECONDS = 20
SHORT = {"EVENTS_KEEPALIVE_SECONDS": 1, "PAGE_REQUEST_TIMEOUT_SECONDS": 2}
PENDING = re.compile(r"\bpending\b")  # a seat waiting for the server
IN_VIEWPORT = """el => { const box = el.getBoundingClientRect();
  return box.height > 0 && box.top >= 0 && box.bottom <= innerHeight && box.left >= 0 && box.right <= innerWidth; }"""

pytestmark = pytest.mark.django_db(transaction=True)


def test_reconnecting_goes_away_when_the_streams_are_back(site):
    from playwright.sync_api import expect

    site.start()
    page = open_page(site, DESKTOP)
    book(site, page)
    seat(page, "1A").click()
    expect(seat(page, "1A")).to_have_attribute("data-state", "mine")
    expect(page.locator("#connection")).to_be_empty()
    restart_web(site)
    expect(page.locator("#connection")).not_to_contain_text("lost", timeout=8000)  # resumed: stream-open
    # And the page is live again: another traveller's hold shows up.
    _status, body = call(site.base, "POST", "/orders", {"flightID": "FL-001"})
    call(site.base, "POST", f"/orders/{body['orderID']}/seats", {"seats": ["2B"]}, body["token"])
    expect(seat(page, "2B")).to_have_attribute("data-state", "held", timeout=3000)


def test_the_page_says_so_while_the_server_is_away_and_when_it_is_back(site):
    from playwright.sync_api import expect

    site.start()
    page = open_page(site, DESKTOP)
    book(site, page)
    stop_web(site)
    expect(page.locator("#connection")).to_be_visible(timeout=5000)
    expect(page.locator("#connection")).to_have_text("Connection lost. Trying again…")
    start_web(site)
    expect(page.locator("#connection")).to_have_text("Back online.", timeout=8000)
    expect(page.locator("#connection")).to_be_hidden(timeout=8000)


def test_paying_while_the_server_is_away_says_so_and_pay_works_once_it_is_back(site):
    from playwright.sync_api import expect

    site.start(PAGE_REQUEST_TIMEOUT_SECONDS=3)  # Pay is sent again for this long, then the page says so
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
    expect(page.locator("#connection")).to_have_text("Back online.", timeout=8000)
    expect(page.locator("#payment-error")).to_be_empty()  # the stale "did not answer" is gone
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#final-title")).to_have_text("Booked!", timeout=OUTCOME_TIMEOUT_MS)


def test_a_silent_drop_is_shown_on_screen_and_announced_then_back_online(site):
    """The network drops every packet for 20 s (no reset): the missing keep-alives say so within a few
    seconds, in a live region that stays on screen above the scrolled map; a seat tapped meanwhile does not
    stay "saving"; once the network is back the page says so, clears the stale error and is live again."""
    from playwright.sync_api import expect

    long_flight()
    site.start(**SHORT)
    with Relay(int(site.base.rsplit(":", 1)[1])) as relay:
        page = open_page(site, PHONE)
        book(SimpleNamespace(base=relay.base), page, "F-300")
        seat(page, "1A").click()
        expect(seat(page, "1A")).to_have_attribute("data-state", "mine")
        indicator = page.locator("#connection")
        expect(indicator).to_be_empty()
        seat(page, "15C").scroll_into_view_if_needed()  # the middle of the map, the page's header long gone

        relay.pause()
        dropped = time.monotonic()
        status = page.get_by_role("status").filter(has_text="Connection lost. Trying again…")
        expect(status).to_be_visible(timeout=5000)  # 2.5 keep-alive intervals, and a second to notice
        assert status.evaluate(IN_VIEWPORT), "the indicator is off screen"
        seat(page, "15D").click()
        expect(seat(page, "15D")).to_have_class(PENDING)
        expect(seat(page, "15D")).not_to_have_class(PENDING, timeout=3500)  # the request's 2 s, and some
        expect(seat(page, "15D")).to_have_attribute("data-state", "available")
        expect(seat(page, "15D").locator("input")).not_to_be_checked()
        expect(page.locator("#seat-error")).to_contain_text("did not answer")
        assert status.evaluate(IN_VIEWPORT)
        assert_accessible(page, "the booking page with the connection lost")
        page.wait_for_timeout(max(0, DROP_SECONDS - (time.monotonic() - dropped)) * 1000)
        expect(status).to_be_visible()  # still lost at the drop's end

        relay.resume()
        expect(page.get_by_role("status").filter(has_text="Back online.")).to_be_visible(timeout=5000)
        expect(page.locator("#seat-error")).to_be_empty()
        _status, body = call(site.base, "POST", "/orders", {"flightID": "F-300"})
        call(site.base, "POST", f"/orders/{body['orderID']}/seats", {"seats": ["16A"]}, body["token"])
        expect(seat(page, "16A")).to_have_attribute("data-state", "held", timeout=3000)
        expect(indicator).to_be_hidden(timeout=8000)  # "Back online" goes after a few seconds
        page.context.close()


def test_pay_is_sent_again_under_the_same_idempotency_key_until_the_server_answers(site):
    """The server is away when Pay is pressed and back within the request's time: the payment goes through,
    every send of that press carrying the one Idempotency-Key (the server answers a repeat once)."""
    from playwright.sync_api import expect

    site.start(PAGE_REQUEST_TIMEOUT_SECONDS=30)  # longer than the web process takes to start again
    page = open_page(site, DESKTOP)
    book(site, page)
    seat(page, "4D").click()
    expect(seat(page, "4D")).to_have_attribute("data-state", "mine")
    name_passengers(page)
    keys: list[str | None] = []

    def sent(request) -> None:
        if request.url.endswith("/payment"):
            keys.append(request.headers.get("idempotency-key"))

    page.on("request", sent)
    stop_web(site)
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_timeout(1500)  # at least one send refused meanwhile
    start_web(site)
    expect(page.locator("#final-title")).to_have_text("Booked!", timeout=OUTCOME_TIMEOUT_MS)
    assert len(keys) >= 2, keys
    assert len(set(keys)) == 1 and keys[0] and len(keys[0]) >= 16, keys
    expect(page.locator("#payment-error")).to_be_empty()
