"""The traveller's pages in a real browser: headless Chromium (Debian's) driven by Playwright, against
a real uvicorn process with the worker and timer loop. Screenshots go to test-artifacts/screenshots/.
"""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the test's own database calls are sync.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.conftest import IN_CI
from tests.http import call, free_port, wait_for_server
from tests.pages.tools import name_passengers
from tests.processes import BASE_DIR, Processes

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SHOTS = BASE_DIR / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        message = f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Site:
    def __init__(self, processes: Processes, settings, browser) -> None:
        self.processes, self.settings, self.browser = processes, settings, browser
        self.base = ""

    def start(self, **values) -> "Site":
        defaults = {
            "REDIS_URL": "",
            "PAYMENT_LATENCY_SECONDS": 0.05,
            "PAYMENT_FAILURE_RATE": 0,
            "EVENTS_RELAY_POLL_SECONDS": 0.1,
        }
        self.processes.configure(self.settings, **{**defaults, **values})
        port = free_port()
        self.processes.start_web(port)
        self.processes.start("run_worker")
        self.processes.start("run_timers")
        self.base = f"http://127.0.0.1:{port}"
        wait_for_server(self.base)
        return self

    def traveller(self, width: int = 1100):
        page = self.browser.new_context(viewport={"width": width, "height": 900}).new_page()
        page.set_default_timeout(10_000)
        return page

    def book(self, page, flight: str = "FL-001"):
        page.goto(self.base + "/")
        page.get_by_role("button", name=f"Book seats on {flight}").click()
        page.wait_for_url("**/booking/**")
        return page.url.rsplit("/", 1)[1]


@pytest.fixture
def site(transactional_db, tmp_path, settings, browser, flight):
    processes = Processes(tmp_path)
    yield Site(processes, settings, browser)
    processes.kill_all()
    print(processes.logs())


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def seat(page, label: str):
    return page.locator(f'.seat[data-seat="{label}"]')


def test_book_seats_and_pay_to_confirmed(site):
    from playwright.sync_api import expect

    site.start()
    page = site.traveller()
    site.book(page)
    shot(page, "1-new-booking")
    seat(page, "1A").click()
    seat(page, "1B").click()
    expect(seat(page, "1A")).to_have_attribute("data-state", "mine")
    expect(seat(page, "1B")).to_have_attribute("data-state", "mine")
    expect(page.locator("#state")).to_have_text("Seats held")
    expect(page.locator("#countdown-time")).to_contain_text(":")
    expect(page.locator("#your-seats")).to_have_text("1A, 1B")
    shot(page, "2-seats-held")
    name_passengers(page)
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#final-title")).to_have_text("Booked!")
    expect(page.locator("#final-text")).to_contain_text("1A, 1B")
    expect(seat(page, "1A")).to_have_attribute("data-state", "mine-booked")
    shot(page, "3-confirmed")


def test_a_failing_gateway_counts_the_attempts_down_to_failed(site):
    from playwright.sync_api import expect

    site.start(PAYMENT_FAILURE_RATE=1, PAYMENT_BACKOFF_INITIAL_SECONDS=0.6)
    page = site.traveller()
    site.book(page)
    seat(page, "2C").click()
    expect(seat(page, "2C")).to_have_attribute("data-state", "mine")
    name_passengers(page)
    page.locator("#code").fill("54321")
    expect(page.locator("#attempts")).to_be_hidden()  # nothing tried yet
    page.get_by_role("button", name="Pay").click()
    for number in ("1", "2", "3"):  # each try, as it runs: the one running counted, not what is left after it
        expect(page.locator("#attempts")).to_have_text(f"Try {number} of 3")
        if number == "2":
            shot(page, "4-payment-retrying")
    expect(page.locator("#final-title")).to_have_text("Payment failed")
    expect(page.locator("#final-text")).to_contain_text("after 3 tries")
    expect(seat(page, "2C")).to_have_attribute("data-state", "available")
    shot(page, "5-failed")


def test_a_short_hold_counts_down_to_zero_and_expires(site):
    from playwright.sync_api import expect

    site.start(SEAT_HOLD_SECONDS=3)
    page = site.traveller(width=400)  # a phone-sized screen
    site.book(page)
    seat(page, "3D").click()
    expect(page.locator("#countdown-time")).to_have_text("00:03", timeout=2000)
    expect(page.locator("#countdown")).to_have_attribute("data-phase", "warning")
    shot(page, "6-countdown-phone")
    expect(page.locator("#countdown-time")).to_have_text("00:00", timeout=5000)
    expect(page.locator("#state")).to_have_text("Hold expired")
    expect(page.locator("#final-title")).to_have_text("The hold expired")
    expect(page.locator("#code")).to_be_disabled()
    expect(seat(page, "3D")).to_have_attribute("data-state", "available", timeout=3000)
    shot(page, "7-expired")


def test_another_travellers_hold_and_release_show_up_live(site):
    from playwright.sync_api import expect

    site.start()
    first, second = site.traveller(), site.traveller()
    site.book(first)
    site.book(second)
    seat(first, "1C").click()
    expect(seat(first, "1C")).to_have_attribute("data-state", "mine")
    expect(seat(second, "1C")).to_have_attribute("data-state", "held", timeout=1000)
    expect(seat(second, "1C").locator("input")).to_be_disabled()
    seat(second, "2A").click()
    seat(second, "2B").click()
    expect(seat(second, "2B")).to_have_attribute("data-state", "mine")
    expect(seat(first, "2B")).to_have_attribute("data-state", "held", timeout=1000)
    shot(second, "8-held-by-others")
    seat(first, "1C").click()
    expect(seat(first, "1C")).to_have_attribute("data-state", "available")
    expect(seat(second, "1C")).to_have_attribute("data-state", "available", timeout=1000)


def test_a_seat_taken_meanwhile_is_refused_with_the_reason(site):
    from playwright.sync_api import expect

    site.start()
    page = site.traveller()
    page.context.route("**/flights/*/events", lambda route: route.abort())  # this page misses the news
    site.book(page)
    _status, body = call(site.base, "POST", "/orders", {"flightID": "FL-001"})
    call(site.base, "POST", f"/orders/{body['orderID']}/seats", {"seats": ["5F"]}, body["token"])
    expect(seat(page, "5F")).to_have_attribute("data-state", "available")
    seat(page, "5F").click()
    expect(page.locator("#seat-error")).to_have_text("Seat 5F is already taken. Choose other seats.")
    expect(seat(page, "5F")).to_have_attribute("data-state", "held")
    shot(page, "9-seat-refused")


def test_without_javascript_the_seat_map_is_a_form(site):
    from playwright.sync_api import expect

    site.start()
    context = site.browser.new_context(java_script_enabled=False)
    page = context.new_page()
    site.book(page)
    page.get_by_label("Row 4, seat A, window, Standard 100.00 EUR, available").check()
    page.get_by_label("Row 4, seat B, middle, Standard 100.00 EUR, available").check()
    page.get_by_role("button", name="Hold the ticked seats").click()
    expect(page.locator(".message")).to_have_text("Seats updated.")
    expect(seat(page, "4A")).to_have_attribute("data-state", "mine")
    name_passengers(page)
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator(".message")).to_have_text("Payment submitted.")
    shot(page, "10-no-javascript")


def test_the_api_docs_load_without_any_request_leaving_the_machine(site):
    from playwright.sync_api import expect

    site.start()
    page = site.traveller()
    outside = []
    page.on("request", lambda request: None if request.url.startswith(site.base) else outside.append(request.url))
    page.goto(site.base + "/api/docs/")
    expect(page.get_by_text("Seat booking API").first).to_be_visible()
    expect(page.get_by_text("/orders/{order_id}/seats").first).to_be_visible()
    shot(page, "11-api-docs")
    assert outside == []
