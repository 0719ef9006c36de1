"""Managing a paid booking in a real browser: its seats changed for dearer ones (the code entered, charged
once) or cheaper ones (refunded once), and its cancellation after the confirmation step (the seats back on
sale, the refund shown on the booking page and the receipt). The gateway always succeeds here."""

from decimal import Decimal

import pytest

from tests.pages.tools import OUTCOME_TIMEOUT_MS, assert_accessible, long_flight, name_passengers, seat

pytestmark = pytest.mark.django_db(transaction=True)

FLIGHT = "F-300"  # rows 1-3 at 129.00 EUR, the standard seats at 89.00


def start(site):
    long_flight(FLIGHT)
    return site.start(PAYMENT_FAILURE_RATE=0, REFUND_FAILURE_RATE=0, PAYMENT_LATENCY_SECONDS=0.05)


def booked(site, *labels: str):
    """A traveller's page with `labels` booked and paid (CONFIRMED)."""
    from playwright.sync_api import expect

    page = site.traveller()
    page.goto(site.base + "/")
    page.get_by_role("button", name=f"Book seats on {FLIGHT}").click()
    page.wait_for_url("**/booking/**")
    order_id = page.url.rsplit("/", 1)[1]
    for label in labels:
        seat(page, label).click()
        expect(seat(page, label)).to_have_attribute("data-state", "mine")
    name_passengers(page)
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#final-title")).to_have_text("Booked!", timeout=OUTCOME_TIMEOUT_MS)
    # The booking page as it is now, with its manage part (a page confirmed while it was open offers a link to
    # it; a busy machine may have reloaded the page meanwhile, which then has the part itself).
    page.goto(f"{site.base}/booking/{order_id}")
    expect(page.locator("#manage-title")).to_be_visible()
    return page, order_id


def change_to(page, *, give_back: str, take: str) -> None:
    from playwright.sync_api import expect

    page.locator("#change-link").click()
    expect(page.locator("#change-title")).to_have_text("Change seats")
    seat(page, give_back).click()
    seat(page, take).click()
    page.get_by_role("button", name="See the price of these seats").click()


def ledger():
    from django.conf import settings

    from orders.gateway_ledger_sql import Ledger

    return Ledger(settings.PAYMENT_GATEWAY_LEDGER)


def refund_paid(order_id: str) -> bool:
    from orders.models import Refund, RefundState

    return Refund.objects.filter(order_id=order_id, state=RefundState.PAID).exists()


def test_a_change_to_dearer_seats_is_paid_with_the_code_and_charged_once(site):
    from playwright.sync_api import expect

    start(site)
    page, order_id = booked(site, "20A")
    assert ledger().charges(order_id) == 1
    change_to(page, give_back="20A", take="1A")
    expect(page.locator("#change-difference")).to_contain_text("more to pay")
    expect(page.locator("#change-difference")).to_contain_text("40.00")
    assert_accessible(page, "the change page with its price")
    page.get_by_role("button", name="Change seats").click()  # no code: refused, the seats kept ticked
    expect(page.locator("#change-code")).to_be_visible()
    page.locator("#change-code").fill("12345")
    page.get_by_role("button", name="Change seats").click()
    expect(page.locator("#change-state")).to_have_attribute("data-state", "DONE", timeout=OUTCOME_TIMEOUT_MS)
    expect(page.locator("#change-state")).to_contain_text("from 20A to 1A")
    expect(seat(page, "1A")).to_have_attribute("data-state", "mine-booked")
    expect(seat(page, "20A")).to_have_attribute("data-state", "available")
    assert_accessible(page, "the booking page after a seat change")
    assert ledger().charges(order_id) == 2  # the booking, then the difference: once


def test_a_change_to_cheaper_seats_is_refunded_once(site):
    from playwright.sync_api import expect

    start(site)
    page, order_id = booked(site, "1B")
    change_to(page, give_back="1B", take="20B")
    expect(page.locator("#change-difference")).to_contain_text("paid back to you")
    expect(page.locator("#change-code")).to_have_count(0)
    page.get_by_role("button", name="Change seats").click()
    expect(page.locator("#change-state")).to_have_attribute("data-state", "DONE")
    expect(seat(page, "20B")).to_have_attribute("data-state", "mine-booked")
    expect(page.locator("#refund")).to_contain_text("40.00")
    # The worker pays it back: the gateway's ledger first, then the refund recorded as paid (a moment later).
    for _ in range(40):
        if refund_paid(order_id):
            break
        page.wait_for_timeout(250)
    assert ledger().refunds(order_id) == [Decimal("40.00")]
    page.reload()
    expect(page.locator("#refund")).to_have_attribute("data-state", "PAID")


def test_cancelling_asks_first_then_puts_the_seats_back_on_sale_and_shows_the_refund(site):
    from playwright.sync_api import expect

    start(site)
    page, order_id = booked(site, "21C")
    page.locator("#cancel-link").click()
    expect(page.locator("#cancel-title")).to_have_text("Cancel booking")
    expect(page.locator("#cancel-refund")).to_contain_text("refunded in full")
    expect(page.locator("#cancel-refund")).to_contain_text("89.00")
    assert_accessible(page, "the cancellation's confirmation")
    page.get_by_role("button", name="Yes, cancel").click()
    expect(page.locator("#state")).to_have_attribute("data-state", "CANCELLED")
    expect(page.locator("#refund")).to_contain_text("89.00")
    other = site.traveller()
    other.goto(site.base + "/")
    other.get_by_role("button", name=f"Book seats on {FLIGHT}").click()
    other.wait_for_url("**/booking/**")
    expect(seat(other, "21C")).to_have_attribute("data-state", "available")
    for _ in range(40):
        if ledger().refunds(order_id):
            break
        page.wait_for_timeout(250)
    assert ledger().refunds(order_id) == [Decimal("89.00")]
    page.goto(f"{site.base}/booking/{order_id}/receipt")
    expect(page.locator("#receipt-refunds")).to_contain_text("89.00")
    expect(page.locator("#receipt-refunds")).to_contain_text("CN-")


def test_some_seats_cancelled_the_rest_kept(site):
    from playwright.sync_api import expect

    start(site)
    page, _order_id = booked(site, "22A", "22B")
    page.locator("#cancel-link").click()
    page.get_by_label("Cancel seat 22A").uncheck()
    page.get_by_label("Cancel seat 22B").uncheck()
    page.get_by_role("button", name="Yes, cancel").click()  # none ticked: refused, not "all"
    expect(page.locator("#seat-error")).to_have_text("Choose at least one seat to cancel.")
    page.get_by_label("Cancel seat 22A").uncheck()
    page.get_by_role("button", name="Yes, cancel").click()
    expect(page.locator("#state")).to_have_attribute("data-state", "CONFIRMED")
    expect(page.locator(".messages")).to_contain_text("Seats cancelled: 22B.")
    expect(seat(page, "22A")).to_have_attribute("data-state", "mine-booked")
    expect(seat(page, "22B")).to_have_attribute("data-state", "available")
    expect(page.locator("#refund")).to_contain_text("89.00")
    assert_accessible(page, "the booking page with a refund")
