"""The input contract every door calls (orders/inputs.py), the path converters built from it, and what a
refused value looks like at each door."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from core.errors import InvalidInput
from flights.management.commands.seed_demo import DEMO_FLIGHTS
from flights.models import Flight
from flights.services import create_flight
from orders import inputs, services
from tests.conftest import bearer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "value", ["", "ZZ", "A", "é", "0A", "1a", "100A", "1A\x00", "1A\n", "１Ａ", "9" * 5000, 12, None]
)
def test_a_value_that_is_no_seat_label_is_refused(value):
    with pytest.raises(InvalidInput) as refused:
        inputs.seat_choice(seats=[value])
    assert refused.value.status == 400 and "like 12C" in refused.value.message
    assert len(refused.value.message) < 200  # a long value is not repeated back


def test_well_formed_values_pass_as_they_are():
    assert inputs.seat_choice(seats=["1A", "99Z"]) == ["1A", "99Z"]
    assert inputs.best_seats(count="3", zone="") == inputs.BestSeats(3, None)
    assert inputs.payment(code="12345") == "12345"
    assert inputs.new_order(flight_code="F-100") == inputs.NewOrder("F-100", None)
    assert inputs.booking_lookup(reference=" k7mx 3q ", last_name="Núñez") == inputs.BookingLookup("K7MX3Q", "Núñez")


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (lambda v: inputs.best_seats(count=v), "9" * 5000),
        (lambda v: inputs.best_seats(count=v), "²"),
        (lambda v: inputs.best_seats(count=1, zone=v), "F" * 33),
        (lambda v: inputs.payment(code=v), "１２３４５"),
        (lambda v: inputs.payment(code=v), "12345\n"),
        (lambda v: inputs.new_order(flight_code=v), "F-100\x00"),
        (lambda v: inputs.new_order(flight_code="F-100", order_id=v), "é"),
        (lambda v: inputs.booking_lookup(reference=v, last_name="Lovelace"), "K7MX3\x00"),
        (lambda v: inputs.booking_lookup(reference=v, last_name="Lovelace"), "K" * 5000),
        (lambda v: inputs.booking_lookup(reference="K7MX3Q", last_name=v), "Love\x00lace"),
        (lambda v: inputs.passengers(given=v, email="ada@example.com"), [{"seat": "ZZ"}]),
        (lambda v: inputs.passengers(given=v, email="ada@example.com"), "1A"),
    ],
)
def test_malformed_values_are_400s_that_say_what_to_send(check, value):
    with pytest.raises(InvalidInput) as refused:
        check(value)
    assert refused.value.status == 400 and len(refused.value.message) > 20


def test_every_real_id_fits_the_converters(flight):
    for _ in range(20):
        order_id = services.new_order_id()
        assert reverse("booking", args=[order_id]) == f"/booking/{order_id}"
    for spec in DEMO_FLIGHTS:
        assert reverse("flight-detail", args=[spec["code"]]) == f"/flights/{spec['code']}"
    assert inputs.valid_order_id("o-" + "x" * 62)


def test_no_flight_or_seat_can_be_made_that_no_url_or_label_check_reaches(flight):
    flight.code = "F 100"
    with pytest.raises(ValidationError) as refused:
        flight.full_clean()  # what the admin's form runs
    assert "letters, digits" in str(refused.value)
    when = flight.departs_at
    with pytest.raises(InvalidInput, match="letters, digits"):
        create_flight(code="F 100", origin="X", destination="Y", departs_at=when, rows=2, letters="AB")
    with pytest.raises(InvalidInput, match="letters A-Z"):
        create_flight(code="F-101", origin="X", destination="Y", departs_at=when, rows=2, letters="AÉ")
    assert set(Flight.objects.values_list("code", flat=True)) == {"FL-001"}


def test_an_id_that_cannot_exist_is_a_404_page_or_json_before_any_query(flight, django_assert_num_queries):
    browser, api = Client(), Client(headers={"Accept": "application/json"})
    with django_assert_num_queries(0):
        page = browser.post("/booking/%00/seats", {"seats": ["1A"]})
        json_404 = api.get("/orders/%C3%A9/status")
        flight_404 = api.get("/flights/%00/events")
    assert page.status_code == 404 and b"<html" in page.content
    assert json_404.status_code == 404 and json_404.json()["code"] == "no_such_path"
    assert flight_404.status_code == 404


def test_a_refused_seat_form_shows_the_page_again_with_the_message(flight):
    browser = Client()
    order_id = browser.post(f"/book/{flight.code}")["Location"].rsplit("/", 1)[1]
    for value in ("ZZ", "", "é", "1A\x00"):
        page = browser.post(f"/booking/{order_id}/seats", {"seats": [value]}, follow=True)
        assert page.status_code == 200 and "like 12C" in page.content.decode(), value
    twice = browser.post(f"/booking/{order_id}/pay", {"code": ["12345", "54321"]}, follow=True)
    assert "2 times; reload the page" in twice.content.decode()


@pytest.mark.django_db(transaction=True)  # a stream reads on the streams' own threads: committed rows only
def test_a_token_with_nul_or_non_ascii_is_a_wrong_token(api, new_order):
    order_id, _token = new_order()
    for token in ("é", "\x00", "b-" + "é" * 64):
        for path in (f"/orders/{order_id}/status", f"/orders/{order_id}/events"):
            refused = api.get(path, **bearer(token))
            assert refused.status_code == 403 and refused.json()["code"] == "wrong_token", path
        assert Client().get(f"/booking/{order_id}", {"token": token}).status_code == 403
