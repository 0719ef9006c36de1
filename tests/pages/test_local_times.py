"""Local times in the browser: the departure in its airport's time (its own date: 23:30 UTC is the next
day in Amsterdam) on the home page, the booking page and the receipt; the hold's deadline in the traveller's
own time with JavaScript, in the airport's time (said so) without; a countdown that never shows more than
the hold's length; find my booking's refusal marks its fields and takes the focus."""

import datetime as dt
import os
import re
import zoneinfo

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

from tests.pages.tools import (
    DESKTOP,
    OUTCOME_TIMEOUT_MS,
    PHONE,
    assert_accessible,
    book,
    name_passengers,
    open_page,
    seat,
)

pytestmark = pytest.mark.django_db(transaction=True)
AMSTERDAM = zoneinfo.ZoneInfo("Europe/Amsterdam")


def amsterdam_flight() -> dt.datetime:
    """AMS-1, Amsterdam -> Lisbon, departing at 23:30 UTC a week from now; its departure."""
    from flights.models import Airport
    from flights.services import create_flight

    Airport.objects.create(code="AMS", city="Amsterdam", name="Schiphol", time_zone="Europe/Amsterdam")
    Airport.objects.create(code="LIS", city="Lisbon", time_zone="Europe/Lisbon")
    departs = (dt.datetime.now(dt.UTC) + dt.timedelta(days=7)).replace(hour=23, minute=30, second=0, microsecond=0)
    create_flight(
        code="AMS-1",
        origin="Amsterdam",
        destination="Lisbon",
        departs_at=departs,
        arrives_at=departs + dt.timedelta(hours=3),
        rows=5,
        letters="ABCDEF",
        aisles_after="C",
    )
    return departs


def as_written(moment: dt.datetime, zone: zoneinfo.ZoneInfo, place: str) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({place} time)"


def test_local_departure_time_on_the_home_page_the_booking_page_and_the_receipt(site):
    from playwright.sync_api import expect

    departs = amsterdam_flight()
    departure = as_written(departs, AMSTERDAM, "Amsterdam")
    assert departs.astimezone(AMSTERDAM).date() != departs.date()  # the local date is not UTC's
    arrival = as_written(departs + dt.timedelta(hours=3), zoneinfo.ZoneInfo("Europe/Lisbon"), "Lisbon")
    site.start()
    page = open_page(site, DESKTOP)
    page.goto(site.base + "/")
    expect(page.get_by_role("row", name=re.compile("AMS-1"))).to_contain_text(departure)
    book(site, page, flight="AMS-1")
    expect(page.locator("#flight-times")).to_have_text(f"Departs {departure}; arrives {arrival}")
    assert "UTC" not in page.inner_text("header.order-head")
    seat(page, "2A").click()
    expect(seat(page, "2A")).to_have_attribute("data-state", "mine")
    assert_accessible(page, "booking with the flight's local times")
    name_passengers(page)
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#final-title")).to_have_text("Booked!", timeout=OUTCOME_TIMEOUT_MS)
    page.locator("#receipt-link").click()
    expect(page.locator("#receipt-departure")).to_have_text(departure)
    expect(page.locator("#receipt-arrival")).to_have_text(arrival)
    assert "UTC" not in page.inner_text("main")
    assert_accessible(page, "receipt with the flight's local times")


def test_the_deadline_is_in_the_travellers_own_time_and_in_the_airports_without_javascript(site):
    from playwright.sync_api import expect

    amsterdam_flight()
    site.start()
    page = open_page(site, PHONE, timezone_id="America/Sao_Paulo", locale="en-GB")
    book(site, page, flight="AMS-1")
    seat(page, "3C").click()
    deadline = page.locator("#deadline")
    expect(deadline).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    at = dt.datetime.fromisoformat(deadline.get_attribute("datetime") or "")
    assert deadline.inner_text() == at.astimezone(zoneinfo.ZoneInfo("America/Sao_Paulo")).strftime("%H:%M:%S")
    assert "UTC" not in page.inner_text("#countdown")

    plain = open_page(site, DESKTOP, java_script_enabled=False, timezone_id="America/Sao_Paulo")
    book(site, plain, flight="AMS-1")
    plain.get_by_label(re.compile("^Row 4, seat A,")).check()
    plain.get_by_role("button", name="Hold the ticked seats").click()
    text = plain.locator("#countdown").inner_text()
    found = re.fullmatch(r"Seats held until (\d\d:\d\d:\d\d) \(Amsterdam time\)\s+More time", text)
    assert found, text
    at = dt.datetime.fromisoformat(plain.locator("#deadline").get_attribute("datetime") or "")
    assert found[1] == at.astimezone(AMSTERDAM).strftime("%H:%M:%S")


def test_a_20_second_hold_counts_down_from_no_more_than_20_seconds(site):
    from playwright.sync_api import expect

    site.start(SEAT_HOLD_SECONDS=20)
    page = open_page(site, DESKTOP)
    # Every value the countdown shows, from the first.
    page.add_init_script(
        "document.addEventListener('DOMContentLoaded', () => { window.shown = [];"
        " const el = document.getElementById('countdown-time'); if (!el) return;"
        " new MutationObserver(() => window.shown.push(el.textContent))"
        ".observe(el, {childList: true, characterData: true, subtree: true}); });"
    )
    book(site, page)
    for label in ("1A", "2A", "3A"):  # a new hold each time: three first seconds
        seat(page, label).click()
        expect(seat(page, label)).to_have_attribute("data-state", "mine")
        page.wait_for_timeout(300)
    shown = page.evaluate("window.shown")
    assert shown and all(value <= "00:20" for value in shown), shown


def test_find_my_booking_refused_marks_the_fields_and_takes_the_focus(site):
    from playwright.sync_api import expect

    site.start()
    for javascript in (True, False):
        page = open_page(site, DESKTOP, java_script_enabled=javascript)
        page.goto(site.base + "/find-booking")
        page.get_by_label("Booking reference").fill("K7MX3Q")
        page.get_by_label("Last name").fill("Nobody")
        page.get_by_role("button", name="Find my booking").click()
        error = page.locator("#find-error")
        expect(error).to_be_visible()
        for field in ("#reference", "#last_name"):
            expect(page.locator(field)).to_have_attribute("aria-invalid", "true")
            expect(page.locator(field)).to_have_attribute("aria-describedby", "find-error")
        expect(page.locator("#reference")).to_be_focused()  # described by the error, which it reads out
        if javascript:  # (axe runs in the page)
            assert_accessible(page, "find my booking, refused")
