"""Fares: cabin zones in the flight's layout data, a price per seat, one currency, Decimal money."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.errors import InvalidInput
from flights.fares import fares_of, parse_zones
from flights.services import create_flight

pytestmark = pytest.mark.django_db

ZONES = [
    {"name": "Front", "rows": [1, 1], "price": "60.00"},
    {"name": "Extra legroom", "rows": [3, 4], "price": "45.50"},
]


@pytest.fixture
def priced(db):
    return create_flight(
        code="PR-1",
        origin="A",
        destination="B",
        departs_at=timezone.now(),
        rows=5,
        letters="ABCD",
        aisles_after="B",
        currency="GBP",
        base_fare="30.00",
        fare_zones=ZONES,
    )


def test_each_seat_is_priced_by_its_zone_and_the_rest_by_the_base_fare(priced):
    fares = fares_of(priced)
    assert [fares.price(label) for label in ["1A", "2D", "3B", "4C", "5A"]] == [
        Decimal("60.00"),
        Decimal("30.00"),
        Decimal("45.50"),
        Decimal("45.50"),
        Decimal("30.00"),
    ]
    assert fares.total(["1A", "3B", "5A"]) == Decimal("135.50")
    assert fares.zone_names() == ["Front", "Extra legroom", "Standard"]


def test_the_flight_api_gives_each_seat_its_price_as_a_string_and_the_currency(api, priced):
    body = api.get(f"/flights/{priced.code}").json()
    assert body["currency"] == "GBP"
    prices = {seat["label"]: (seat["zone"], seat["price"]) for seat in body["seats"]}
    assert len(prices) == 20 and prices["1B"] == ("Front", "60.00") and prices["4D"] == ("Extra legroom", "45.50")
    assert prices["2A"] == ("Standard", "30.00")
    assert [z["name"] for z in body["zones"]] == ["Front", "Extra legroom", "Standard"]
    assert body["layout"] == {"rows": 5, "letters": "ABCD", "aislesAfter": "B"}  # the old keys stay


@pytest.mark.parametrize(
    ("zones", "says"),
    [
        ([{"name": "Front", "rows": [0, 1], "price": "1.00"}], "within rows 1-5"),
        ([{"name": "Front", "rows": [1, 6], "price": "1.00"}], "within rows 1-5"),
        ([{"name": "Front", "rows": [1, 2], "price": "1.001"}], "two decimal places"),
        ([{"name": "Front", "rows": [1, 2], "price": "-1"}], "0.00-"),
        ([{"name": "Front", "rows": [1, 2], "price": "abc"}], "not a number"),
        ([{"name": "Front", "rows": [1, 2], "price": "NaN"}], "0.00-"),
        ([{"name": "Front", "rows": [1, 2]}], "exactly name, rows"),
        ([{"name": "Standard", "rows": [1, 2], "price": "1"}], "not 'Standard'"),
        (
            [{"name": "A", "rows": [1, 3], "price": "1"}, {"name": "B", "rows": [3, 4], "price": "1"}],
            "share rows",
        ),
        ({"name": "A"}, "a list"),
    ],
)
def test_bad_fare_zones_are_refused_saying_what_is_wrong(zones, says):
    with pytest.raises(InvalidInput) as refused:
        parse_zones(zones, rows=5)
    assert says in refused.value.message


def test_the_admin_edits_fares_and_its_form_refuses_bad_ones(priced, admin_client):
    url = f"/admin/flights/flight/{priced.pk}/change/"
    form = {
        "code": priced.code,
        "origin": "A",
        "destination": "B",
        "departs_at_0": timezone.now().date().isoformat(),
        "departs_at_1": "09:30:00",
        "currency": "EUR",
        "base_fare": "31.00",
        "fare_zones": '[{"name": "Front", "rows": [1, 2], "price": "70.00"}]',
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    priced.refresh_from_db()
    assert (priced.currency, fares_of(priced).price("2A"), fares_of(priced).price("5A")) == (
        "EUR",
        Decimal("70.00"),
        Decimal("31.00"),
    )
    bad = admin_client.post(url, {**form, "fare_zones": '[{"name": "Front", "rows": [1, 9], "price": "1"}]'})
    assert bad.status_code == 200 and "within rows 1-5" in bad.content.decode()
    priced.full_clean()  # unchanged by the refused form
    with pytest.raises(ValidationError):
        priced.currency = "euro"
        priced.full_clean()
