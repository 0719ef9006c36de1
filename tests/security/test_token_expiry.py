"""Tokens end: an order's own token a day after the order ended without a booking, a booking's token and its
links (find my booking) a month after the flight, sessions after a day. An ended token gets a 403 that
says what to do (find my booking), on every door: the lean JSON path, DRF, the event stream, the pages.

Moving time: rows are dated back with .update() (no auto_now), the flight's departure likewise."""

# ruff: noqa: F811 - a fixture imported from another test module is these tests' parameter

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from flights.models import Flight
from orders import services
from orders.access import booking_token
from orders.models import Order, OrderState
from tests.conftest import bearer
from tests.orders.test_booking_pages import confirmed  # noqa: F401 - fixture
from tests.security.doors import lean_call

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def ended(order_id: str, *, ago: dt.timedelta) -> None:
    Order.objects.filter(pk=order_id).update(updated_at=timezone.now() - ago)


def assert_expired(answer, what: str) -> None:
    assert answer.status_code == 403, (what, answer.status_code, answer.content[:300])
    body = answer.json()
    assert body["code"] == "token_expired", (what, body)
    assert "Find my booking" in body["error"] and "stopped working" in body["error"], body


def test_a_cancelled_orders_token_works_for_a_day_after_the_end_then_never_again(flight, api):
    order, token = services.create_order(flight_code=flight.code, actor="test")
    services.cancel_order(order_id=order.pk, actor="test")
    assert api.get(f"/orders/{order.pk}/status", **bearer(token)).status_code == 200  # how it ended
    ended(order.pk, ago=DAY - dt.timedelta(minutes=1))
    assert lean_call("GET", f"/orders/{order.pk}/status", token=token).status_code == 200

    ended(order.pk, ago=DAY + dt.timedelta(minutes=1))
    assert_expired(api.get(f"/orders/{order.pk}/status", **bearer(token)), "DRF")
    assert_expired(lean_call("GET", f"/orders/{order.pk}/status", token=token), "lean path")
    assert_expired(api.post(f"/orders/{order.pk}/events/ticket", **bearer(token)), "stream ticket")
    page = Client().get(f"/booking/{order.pk}?token={token}")
    assert page.status_code == 403 and "Find my booking" in page.content.decode()
    assert "?token=" not in page.get("Location", "")  # not let in, not redirected into a session


def test_a_lapsed_hold_ends_the_token_a_day_after_its_deadline_even_unswept(flight, api):
    order, token = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    deadline = timezone.now() - DAY - dt.timedelta(minutes=1)
    Order.objects.filter(pk=order.pk).update(hold_expires_at=deadline, updated_at=timezone.now())
    assert Order.objects.get(pk=order.pk).state == OrderState.SEATS_SELECTED  # the timer loop has not run
    assert_expired(lean_call("GET", f"/orders/{order.pk}/status", token=token), "lapsed hold")


def test_an_open_order_keeps_its_token_however_old_its_last_change(flight, api):
    order, token = services.create_order(flight_code=flight.code, actor="test")
    ended(order.pk, ago=10 * DAY)  # the control: PENDING is not an end
    assert api.get(f"/orders/{order.pk}/status", **bearer(token)).status_code == 200


def test_a_bookings_token_and_links_last_until_a_month_after_the_flight(confirmed, api):
    link = booking_token(confirmed.pk, confirmed.reference, confirmed.booking_link_version)
    flight = Flight.objects.filter(pk=confirmed.flight_id)
    days = settings.BOOKING_ACCESS_DAYS_AFTER_FLIGHT
    flight.update(departs_at=timezone.now() - dt.timedelta(days=days) + dt.timedelta(minutes=5))
    ended(confirmed.pk, ago=100 * DAY)  # confirmed long ago: a booking's access follows its flight
    assert api.get(f"/orders/{confirmed.pk}/status", **bearer(link)).status_code == 200
    receipt = Client().get(f"/booking/{confirmed.pk}/receipt?token={link}")
    assert receipt.status_code == 303

    flight.update(departs_at=timezone.now() - dt.timedelta(days=days) - dt.timedelta(minutes=5))
    assert_expired(api.get(f"/orders/{confirmed.pk}/status", **bearer(link)), "booking link")
    assert_expired(lean_call("GET", f"/orders/{confirmed.pk}/status", token=link), "booking link, lean path")
    page = Client().get(f"/booking/{confirmed.pk}/receipt?token={link}")
    assert page.status_code == 403 and "stopped working" in page.content.decode()


def test_an_api_bookings_own_token_lasts_as_long_as_its_links(flight, api):
    created = api.post("/orders", {"flightID": flight.code}, format="json").json()
    token, order_id = created["token"], created["orderID"]
    Order.objects.filter(pk=order_id).update(reference="K7MX3Q", state=OrderState.CONFIRMED)  # booked, no names
    ended(order_id, ago=20 * DAY)
    assert api.get(f"/orders/{order_id}/status", **bearer(token)).status_code == 200
    Flight.objects.filter(pk=flight.pk).update(departs_at=timezone.now() - 31 * DAY)
    assert_expired(api.get(f"/orders/{order_id}/status", **bearer(token)), "order token of a flown booking")


def test_staff_still_open_an_ended_order(flight):
    from django.contrib.auth.models import User

    order, _token = services.create_order(flight_code=flight.code, actor="test")
    services.cancel_order(order_id=order.pk, actor="test")
    ended(order.pk, ago=400 * DAY)
    staff = Client()
    staff.force_login(User.objects.create_user("olga", password="x", is_staff=True))
    assert staff.get(f"/orders/{order.pk}/status").status_code == 200


def test_a_session_lasts_a_day_not_two_weeks(flight):
    browser = Client()
    started = browser.post(f"/book/{flight.code}")
    assert started.status_code == 302
    cookie = browser.cookies[settings.SESSION_COOKIE_NAME]
    assert settings.SESSION_COOKIE_AGE == 86400
    assert int(cookie["max-age"]) == 86400, cookie.output()


def test_a_session_opens_an_ended_order_no_longer_than_its_token_would(flight):
    """A shared computer's browser session ends with the order's token: a day after the order ended."""
    browser = Client()
    order_id = browser.post(f"/book/{flight.code}")["Location"].rsplit("/", 1)[1]
    services.cancel_order(order_id=order_id, actor="test")
    ended(order_id, ago=DAY - dt.timedelta(minutes=1))
    assert browser.get(f"/orders/{order_id}/status").status_code == 200
    assert browser.get(f"/booking/{order_id}").status_code == 200

    ended(order_id, ago=DAY + dt.timedelta(minutes=1))
    assert_expired(browser.get(f"/orders/{order_id}/status"), "session")
    page = browser.get(f"/booking/{order_id}")
    assert page.status_code == 403 and "Find my booking" in page.content.decode()


def test_a_session_opens_an_open_order_however_old_its_last_change(flight):
    browser = Client()
    order_id = browser.post(f"/book/{flight.code}")["Location"].rsplit("/", 1)[1]
    ended(order_id, ago=10 * DAY)  # the control: PENDING is not an end
    assert browser.get(f"/orders/{order_id}/status").status_code == 200
