"""The dashboard in a real browser (Debian's Chromium via Playwright) against the real processes: after a
scripted burst of bookings, payments and expiries, its charts agree with the database, and it follows
new holds live. With DASHBOARD_SCREENSHOT=<path> (make dashboard-screenshot) it also saves the picture
docs/operations.md shows (docs/dashboard.png)."""

import datetime as dt
import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop here

from tests.orders.test_views_browser import BASE_DIR, Site, browser, shot  # noqa: F401 - browser is a fixture
from tests.processes import Processes, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def site(transactional_db, tmp_path, settings, browser, flight):  # noqa: F811
    processes = Processes(tmp_path)
    yield Site(processes, settings, browser)
    processes.kill_all()
    print(processes.logs())


def settled(flight) -> bool:
    """No payment still running, no lapsed hold left for the timer loop."""
    from django.utils import timezone

    from orders.models import Order, OrderState, lapsed_holds

    orders = Order.objects.filter(flight=flight)
    return not (
        orders.filter(state=OrderState.PROCESSING_PAYMENT).exists()
        or orders.filter(lapsed_holds(timezone.now())).exists()
    )


def log_in(site, page) -> None:
    from django.contrib.auth.models import User

    User.objects.create_superuser("operator", password="a-long-operator-password")
    page.goto(site.base + "/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill("a-long-operator-password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Service dashboard").click()
    page.wait_for_url("**/admin/dashboard/")


def make_history() -> None:
    from django.utils import timezone

    from flights.services import create_flight
    from orders import queue
    from tests.operations.burst import spread_history

    for code, origin, destination, hours, rows in (
        ("SB-210", "Lisbon", "Paris", 3, 20),
        ("SB-330", "Oslo", "Rome", 5, 26),
    ):
        departs = timezone.now() + dt.timedelta(hours=hours)
        create_flight(
            code=code,
            origin=origin,
            destination=destination,
            departs_at=departs,
            rows=rows,
            letters="ABCDEF",
            aisles_after="C",
        )
    enqueue, queue.enqueue_payment = queue.enqueue_payment, lambda order_id: None  # settled in spread_history
    try:
        spread_history(["SB-210", "SB-330"])
    finally:
        queue.enqueue_payment = enqueue


def counts(page, flight_code: str) -> dict[str, int]:
    row = page.locator(f'tr[data-flight="{flight_code}"]')
    return {k: int(row.locator(f'td[data-count="{k}"]').inner_text()) for k in ("available", "held", "booked")}


def test_after_a_burst_the_charts_agree_with_the_database_and_follow_it_live(site, flight, settings):
    from playwright.sync_api import expect

    from inventory.models import SeatHold
    from inventory.selectors import seat_availability
    from orders import services
    from orders.models import AuditEntry, PaymentAttempt
    from tests.operations.burst import run_burst

    site.start(DASHBOARD_REFRESH_SECONDS=0.5, SEAT_HOLD_SECONDS=900, HEARTBEAT_SECONDS=1)
    if os.environ.get("DASHBOARD_SCREENSHOT"):
        make_history()  # docs/operations.md's picture: an hour of traffic on two more flights
    run_burst(flight.code, background=True)  # the real worker pays, the real timer loop expires
    wait_until(lambda: settled(flight), timeout=15, what="payments and expiries to settle")
    page = site.traveller(width=1280)
    log_in(site, page)

    seats = seat_availability(flight=flight)
    assert counts(page, flight.code) == {"available": len(seats.available), "held": 6, "booked": 3}
    assert len(seats.held) == 6 and len(seats.confirmed) == 3
    bar = page.locator(f'tr[data-flight="{flight.code}"] svg.seat-bar')
    expect(bar).to_have_attribute("aria-label", f"{flight.code}: 3 booked, 6 held, 21 available")
    widths = {
        rect.get_attribute("class"): float(rect.get_attribute("width") or 0) for rect in bar.locator("rect").all()
    }
    total = len(seats.available) + 6 + 3
    shares = {"booked": 100 * 3 / total, "held": 100 * 6 / total, "available": 100 * len(seats.available) / total}
    assert widths == pytest.approx(shares, abs=0.01)  # the drawing, not only its label, agrees with the database
    # the hour's totals, all flights together, as the tables have them
    held, attempts = SeatHold.objects.all(), PaymentAttempt.objects.exclude(outcome="running")
    for how in ("expired", "confirmed", "released"):
        n = held.filter(state=how.upper()).count()
        expect(page.locator(f'#holds-totals [data-series="{how}"] strong')).to_have_text(str(n))
    rate = round(100 * attempts.filter(outcome="success").count() / attempts.count())
    expect(page.locator("#success-rate")).to_have_text(f"{rate} %")
    expiries = AuditEntry.objects.filter(action="expire").count()
    expect(page.locator("#lateness-hour")).to_contain_text(f"{expiries} expiries")
    expect(page.locator('tr[data-check="timers"]')).to_have_attribute("data-ok", "true")
    expect(page.locator('tr[data-check="worker"]')).to_have_attribute("data-ok", "true", timeout=15_000)
    expect(page.locator("#dash-live")).to_be_visible()
    expect(page.locator('tr[data-check="event delivery"]')).to_have_attribute("data-ok", "true")
    expect(page.locator('tr[data-check="event delivery"]')).to_contain_text("table since")

    traveller = site.traveller()  # a booking page follows its order's and its flight's event streams
    site.book(traveller)
    expect(page.locator("#open-streams")).to_have_text("2", timeout=5000)  # reported by the web process
    expect(page.locator('tr[data-check="streams"]')).to_contain_text("flight 1, order 1")
    traveller.close()

    order, _ = services.create_order(flight_code=flight.code, actor="test")  # a new hold shows without a reload
    services.select_seats(order_id=order.pk, labels=["5E", "5F"], actor="test")
    expect(page.locator(f'tr[data-flight="{flight.code}"] td[data-count="held"]')).to_have_text("8", timeout=5000)
    page.locator("#lateness-title").scroll_into_view_if_needed()
    shot(page, "12-dashboard")
    if target := os.environ.get("DASHBOARD_SCREENSHOT"):
        page.evaluate("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")  # the admin's side menu
        page.reload()
        expect(page.locator(f'tr[data-flight="{flight.code}"] td[data-count="held"]')).to_have_text("8")
        page.screenshot(path=str(BASE_DIR / target), full_page=True)


def test_without_javascript_the_dashboard_is_complete(site, flight):
    from playwright.sync_api import expect

    from tests.operations.burst import run_burst

    site.start()
    run_burst(flight.code, background=True)
    wait_until(lambda: settled(flight), timeout=15, what="payments and expiries to settle")
    context = site.browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(site, page)
    assert counts(page, flight.code) == {"available": 21, "held": 6, "booked": 3}
    expect(page.locator("#dash-live")).to_be_hidden()
    expect(page.locator("#holds-chart polyline").first).to_be_attached()
    page.get_by_text("Per minute (").first.click()  # the text alternative of the holds chart opens
    expect(page.locator(".dash-minutes table").first).to_be_visible()


def updates_seen(page, count: int = 2) -> None:
    """Wait for `count` more swaps of the panels (the figures' time changes with each, to the second)."""
    from playwright.sync_api import expect

    for _ in range(count):
        before = page.locator("#dash-updated").inner_text()
        expect(page.locator("#dash-updated")).not_to_have_text(before, timeout=5000)


def test_live_updates_keep_focus_can_be_paused_and_stop_when_the_session_ends(site, flight):
    """Review 17, defects 4 and 5: focus survives the swaps, a pause control stops them (WCAG 2.2.2), and
    an ended session stops the polls with a message instead of putting the login page inside the panels."""
    from playwright.sync_api import expect

    site.start(DASHBOARD_REFRESH_SECONDS=0.5)
    page = site.traveller(width=1280)
    log_in(site, page)
    summary = page.locator("#dashboard-panels summary").nth(1)
    summary.focus()
    updates_seen(page)
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    assert (
        page.evaluate(
            "Array.from(document.querySelectorAll('#dashboard-panels summary')).indexOf(document.activeElement)"
        )
        == 1
    )

    page.get_by_role("button", name="Pause live updates").click()
    expect(page.locator("#dash-announce")).to_have_text("Live updates paused.")
    paused_at = page.locator("#dash-updated").inner_text()
    page.wait_for_timeout(2500)  # five refresh periods
    expect(page.locator("#dash-updated")).to_have_text(paused_at)
    page.get_by_role("button", name="Resume live updates").click()
    updates_seen(page, 1)

    page.context.clear_cookies()  # the session ends (logged out elsewhere, or it expired)
    expect(page.locator("#dash-announce")).to_contain_text("session ended", timeout=5000)
    expect(page.locator("#dashboard-panels #login-form")).to_have_count(0)
    expect(page.locator("#dashboard")).to_have_attribute("data-stale", "true")


@pytest.mark.parametrize("width", [390, 1280])
def test_the_dashboard_fits_the_screen_and_its_chart_text_is_readable(site, flight, width):
    """Review 17, defects 6 and 7: no sideways scrolling of the page on a phone, chart labels at least
    10 px high, and the 1 s alert line's label inside its chart."""
    from playwright.sync_api import expect

    from tests.operations.burst import run_burst

    site.start()
    run_burst(flight.code, background=True)
    wait_until(lambda: settled(flight), timeout=15, what="payments and expiries to settle")
    page = site.traveller(width=width)
    log_in(site, page)
    expect(page.locator("#lateness-chart .threshold-label")).to_be_attached()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    label_heights = page.evaluate(
        "Array.from(document.querySelectorAll('.dash-chart text.label'), t => t.getBoundingClientRect().height)"
    )
    assert label_heights and min(label_heights) >= 10, label_heights
    inside = page.evaluate(
        """(() => {
          const label = document.querySelector('#lateness-chart .threshold-label').getBoundingClientRect();
          const chart = document.querySelector('#lateness-chart').getBoundingClientRect();
          return label.top >= chart.top && label.bottom <= chart.bottom;
        })()"""
    )
    assert inside
