"""The pages beside the booking page: find my booking, the printable receipt, the passenger form's handler; the admin's
search by reference."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from orders import queue, services
from orders.gateway import ChargeResult
from orders.models import AttemptOutcome, Order
from orders.services.payments import finish_payment_attempt, start_payment_attempt

pytestmark = pytest.mark.django_db

PASSENGERS = [
    {"seat": "1A", "firstName": "Ada", "lastName": "Lovelace"},
    {"seat": "1B", "firstName": "José", "lastName": "Núñez-García"},
]


@pytest.fixture
def confirmed(flight, monkeypatch) -> Order:
    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)
    monkeypatch.setattr(queue, "enqueue_confirmation", lambda order_id: None)
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A", "1B"], actor="test")
    services.set_passengers(order_id=order.pk, passengers=PASSENGERS, email="ada@example.com", actor="test")
    services.submit_payment(order_id=order.pk, code="12345", actor="test")
    ticket = start_payment_attempt(order_id=order.pk)
    assert ticket is not None
    finish_payment_attempt(order_id=order.pk, number=ticket.number, result=ChargeResult(True, AttemptOutcome.SUCCESS))
    return Order.objects.get(pk=order.pk)


def test_find_my_booking_opens_the_booking_in_this_browser(confirmed):
    browser = Client()
    assert browser.get(f"/booking/{confirmed.pk}").status_code == 403  # another browser: closed
    form = browser.get("/find-booking")
    assert form.status_code == 200 and b'name="reference"' in form.content and b'name="last_name"' in form.content
    # as a person types it: lower case, accents left out, spaces around
    found = browser.post(
        "/find-booking", {"reference": f" {confirmed.reference.lower()} ", "last_name": " nunez garcia "}
    )
    assert found.status_code == 302 and found["Location"] == f"/booking/{confirmed.pk}"
    assert browser.get(f"/booking/{confirmed.pk}").status_code == 200
    receipt = browser.get(f"/booking/{confirmed.pk}/receipt").content.decode()
    assert confirmed.reference in receipt


def test_a_wrong_name_and_a_wrong_reference_get_the_same_page(confirmed):
    browser = Client()
    other = next(c for c in "ABCDEFGH" if c != confirmed.reference[0]) + confirmed.reference[1:]
    wrong_name = browser.post("/find-booking", {"reference": confirmed.reference, "last_name": "Turing"})
    wrong_reference = browser.post("/find-booking", {"reference": other, "last_name": "Lovelace"})
    assert wrong_name.status_code == wrong_reference.status_code == 404

    def message(response):
        return response.content.decode().split('id="find-error">')[1].split("<")[0]

    assert message(wrong_name) == message(wrong_reference) and "No booking" in message(wrong_name)
    assert browser.get(f"/booking/{confirmed.pk}").status_code == 403  # still closed


def test_the_page_is_throttled_like_the_api(confirmed, settings):
    settings.FIND_BOOKING_REFERENCE_FREE_FAILURES = 1
    cache.clear()
    browser = Client()
    answers = [
        browser.post("/find-booking", {"reference": confirmed.reference, "last_name": name}).status_code
        for name in ["Aa", "Bb", "Lovelace"]
    ]
    assert answers == [404, 404, 429]  # the address that failed on a guessed reference waits, even with the right name
    owner = Client(REMOTE_ADDR="198.51.100.20").post(
        "/find-booking", {"reference": confirmed.reference, "last_name": "Lovelace"}
    )
    assert owner.status_code == 302  # from anywhere else, the right name gets in
    cache.clear()


def test_the_receipt_is_printable_with_everything_on_it(confirmed):
    browser = Client()
    browser.post("/find-booking", {"reference": confirmed.reference, "last_name": "Lovelace"})
    page = browser.get(f"/booking/{confirmed.pk}/receipt").content.decode()
    for part in (
        confirmed.reference,
        "FL-001",
        "Tel Aviv",
        "Ada Lovelace",
        "José Núñez-García",
        "200.00 EUR",
        "/static/css/site.",  # its print rules (@media print) hide the site's header and the print button
    ):
        assert part in page, part
    assert "@media print" in (settings.BASE_DIR / "static" / "css" / "site.css").read_text()
    assert Client().get(f"/booking/{confirmed.pk}/receipt").status_code == 403


def test_the_passenger_form_names_the_held_seats(flight):
    browser = Client()
    started = browser.post(f"/book/{flight.code}")
    order_id = started["Location"].rsplit("/", 1)[1]
    browser.post(f"/booking/{order_id}/seats", {"seats": ["2A", "2B"]})
    form = {
        "seat": ["2A", "2B"],
        "first_name": ["  Grace ", "Alan"],
        "last_name": ["Hopper", "Tu\u0308ring"],  # ü typed as u + combining diaeresis: composed for the check
        "email": "grace@example.com",
    }
    assert browser.post(f"/booking/{order_id}/passengers", form).status_code == 302
    order = Order.objects.get(pk=order_id)
    assert order.passengers == [
        {"seat": "2A", "firstName": "Grace", "lastName": "Hopper"},
        {"seat": "2B", "firstName": "Alan", "lastName": "Türing"},
    ]
    refused = browser.post(f"/booking/{order_id}/passengers", {**form, "last_name": ["Hopper", "T0ring"]}, follow=True)
    assert "not &#x27;0&#x27;" in refused.content.decode() or "not '0'" in refused.content.decode()
    assert Client().post(f"/booking/{order_id}/passengers", form).status_code == 403


def test_the_admin_finds_an_order_by_its_reference(confirmed):
    staff = Client()
    staff.force_login(User.objects.create_user("olga", password="x", is_staff=True, is_superuser=True))
    page = staff.get("/admin/orders/order/", {"q": confirmed.reference.lower()}).content.decode()
    assert confirmed.pk in page
    assert confirmed.pk not in staff.get("/admin/orders/order/", {"q": "ZZZZZZ"}).content.decode()
