"""Times as travellers read them: in the airport's own zone with its name (UTC, said so, when the airport is
not known), in the confirmation email and on the receipt; airports in the admin; the admin's widest row."""

# ruff: noqa: F811 - fixtures imported from the API's test module are the tests' parameters

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client

from flights.models import Airport, Flight
from flights.services import create_flight
from flights.times import airport_time
from tests.conftest import bearer
from tests.orders.test_booking_api import ADA, enqueued, gateway, pay, post  # noqa: F401 - fixtures

AMSTERDAM = Airport(code="AMS", city="Amsterdam", name="Schiphol", time_zone="Europe/Amsterdam")


def test_a_time_in_an_airports_zone_names_the_place_through_summer_time_and_the_date_line():
    winter = dt.datetime(2026, 12, 14, 23, 30, tzinfo=dt.UTC)  # CET, UTC+1: the next day in Amsterdam
    summer = dt.datetime(2026, 7, 14, 8, 40, tzinfo=dt.UTC)  # CEST, UTC+2
    assert airport_time(winter, AMSTERDAM) == "Tue 15 Dec 2026, 00:30 (Amsterdam time)"
    assert airport_time(summer, AMSTERDAM) == "Tue 14 Jul 2026, 10:40 (Amsterdam time)"
    assert airport_time(summer, AMSTERDAM, clock_only=True) == "10:40:00 (Amsterdam time)"


def test_a_time_without_a_known_airport_is_shown_in_utc_and_says_so():
    moment = dt.datetime(2026, 12, 14, 23, 30, tzinfo=dt.UTC)
    assert airport_time(moment, None) == "Mon 14 Dec 2026, 23:30 UTC"
    broken = Airport(code="XXX", city="Nowhere", time_zone="Mars/Olympus")  # set by hand, not through the admin
    assert airport_time(moment, broken) == "Mon 14 Dec 2026, 23:30 UTC"
    assert airport_time(None, AMSTERDAM) == ""


@pytest.mark.django_db
def test_an_airport_needs_a_real_time_zone_and_links_the_flights_of_its_city():
    with pytest.raises(ValidationError, match="time zone"):
        Airport(code="AMS", city="Amsterdam", time_zone="Europe/Amsterdamm").full_clean()
    Airport.objects.create(code="LIS", city="Lisbon", time_zone="Europe/Lisbon")
    flight = create_flight(
        code="T-1", origin="Paris", destination="Lisbon", departs_at=dt.datetime.now(dt.UTC), rows=2, letters="AB"
    )
    assert flight.origin_airport is None and flight.destination_airport is not None
    assert flight.destination_airport.code == "LIS"


@pytest.fixture
def staff():
    client = Client()
    client.force_login(User.objects.create_user("olga", password="x", is_staff=True, is_superuser=True))
    return client


def _admin_form(flight: Flight, **changes) -> dict:
    data = {
        "code": flight.code,
        "origin": flight.origin,
        "destination": flight.destination,
        "departs_at_0": "2026-12-14",
        "departs_at_1": "23:30:00",
        "arrives_at_0": "",
        "arrives_at_1": "",
        "origin_airport": "",
        "destination_airport": "",
        "currency": "EUR",
        "base_fare": "100.00",
        "fare_zones": "[]",
        "exit_rows": "",
        "wing_rows": "",
    }
    return {**data, **changes}


@pytest.mark.django_db
def test_the_admin_refuses_a_row_of_more_than_ten_seats_and_takes_airports_and_an_arrival(staff):
    wide = create_flight(
        code="W-11", origin="A", destination="B", departs_at=dt.datetime.now(dt.UTC), rows=3, letters="ABCDEFGHJKL"
    )
    refused = staff.post(f"/admin/flights/flight/{wide.pk}/change/", _admin_form(wide))
    assert refused.status_code == 200
    assert "A row has at most 10 seats (e.g. 3-4-3, ABC DEFG HJK); this one has 11." in refused.content.decode()

    amsterdam = Airport.objects.create(code="AMS", city="Amsterdam", time_zone="Europe/Amsterdam")
    ten = create_flight(
        code="W-10", origin="A", destination="B", departs_at=dt.datetime.now(dt.UTC), rows=3, letters="ABCDEFGHJK"
    )
    changes = {"origin_airport": str(amsterdam.pk), "arrives_at_0": "2026-12-15", "arrives_at_1": "02:00:00"}
    saved = staff.post(f"/admin/flights/flight/{ten.pk}/change/", _admin_form(ten, **changes))
    assert saved.status_code == 302, saved.content.decode()[:2000]
    ten.refresh_from_db()
    assert (ten.origin_airport, ten.arrives_at) == (amsterdam, dt.datetime(2026, 12, 15, 2, tzinfo=dt.UTC))
    before = _admin_form(ten, arrives_at_0="2026-12-14", arrives_at_1="23:00:00")
    assert "The arrival is after the departure." in staff.post(f"/admin/flights/flight/{ten.pk}/change/", before).text

    added = staff.post(
        "/admin/flights/airport/add/", {"code": "LIS", "city": "Lisbon", "name": "", "time_zone": "Lisbon"}
    )
    assert "is not a time zone name" in added.content.decode()


@pytest.mark.django_db
def test_the_confirmation_email_gives_the_departure_and_arrival_in_their_airports_time(
    api, flight, new_order, gateway, enqueued, django_capture_on_commit_callbacks
):
    flight.origin_airport = Airport.objects.create(code="TLV", city="Tel Aviv", time_zone="Asia/Jerusalem")
    flight.destination_airport = Airport.objects.create(code="ATH", city="Athens", time_zone="Europe/Athens")
    flight.departs_at = dt.datetime(2026, 12, 14, 22, 30, tzinfo=dt.UTC)  # 00:30 the next day in Tel Aviv
    flight.arrives_at = dt.datetime(2026, 12, 15, 0, 40, tzinfo=dt.UTC)
    flight.save()
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A"]}, token)
    assert post(api, f"/orders/{order_id}/passengers", {"passengers": [ADA], "email": "ada@example.com"}, token)
    pay(api, order_id, token, django_capture_on_commit_callbacks)
    from orders import tasks

    assert tasks.send_confirmation_email(order_id) == "sent"
    [email] = mail.outbox
    assert "Departure: Tue 15 Dec 2026, 00:30 (Tel Aviv time)\n" in str(email.body)
    assert "Arrival: Tue 15 Dec 2026, 02:40 (Athens time)\n" in str(email.body)
    assert "UTC" not in str(email.body)
    [(html, _type)] = getattr(email, "alternatives", [])
    assert "Tue 15 Dec 2026, 00:30 (Tel Aviv time)" in str(html) and "UTC" not in str(html)
    receipt = api.get(f"/booking/{order_id}/receipt", **bearer(token)).content.decode()
    assert "Tue 15 Dec 2026, 00:30 (Tel Aviv time)" in receipt and "02:40 (Athens time)" in receipt


@pytest.mark.django_db
def test_an_unpaid_bookings_receipt_says_what_happened(api, flight, new_order):
    from orders.models import Order

    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A"]}, token)
    Order.objects.filter(pk=order_id).update(state="FAILED")  # as three declined tries leave it
    page = api.get(f"/booking/{order_id}/receipt", **bearer(token)).content.decode()
    assert "FAILED" not in page
    assert "Payment failed.</strong> This booking was not paid: the payment was declined. Nothing was charged." in page
    assert "Mon 14 Dec" not in page and " UTC</time>" in page  # no airport known for this flight: UTC, said so
