"""Seats together: with no zone asked for, the server takes them from the cheapest zone where they sit
together (the API's {"best": n} and the proposal alike), and GET /orders/{id}/seats/best proposes them with
their price before anything is held (orders/seat_proposals.py, orders/proposal_api.py)."""

from decimal import Decimal

import pytest

from inventory.models import SeatHold
from orders import services
from orders.seat_proposals import propose_best_seats
from tests.conftest import bearer
from tests.orders.test_booking_api import post

pytestmark = pytest.mark.django_db


@pytest.fixture
def fronted(flight):
    """FL-001 (5 x ABC DEF) with a dear front: rows 1-2 at 129.00, the rest at 89.00 EUR."""
    flight.fare_zones = [{"name": "Front", "rows": [1, 2], "price": "129.00"}]
    flight.base_fare, flight.currency = Decimal("89.00"), "EUR"
    flight.save()
    return flight


def best(api, order_id, token, **query):
    return api.get(f"/orders/{order_id}/seats/best", query, **bearer(token))


def test_any_zone_holds_the_cheapest_zone_where_the_seats_fit_together(api, fronted, new_order):
    order_id, token = new_order()
    held = post(api, f"/orders/{order_id}/seats", {"best": 2}, token).json()
    assert (held["Seats"], held["Total"]) == (["3A", "3B"], "178.00")  # not 1A+1B at 258.00


def test_a_dearer_zone_when_the_cheapest_has_no_seats_side_by_side(api, fronted, new_order):
    fronted.fare_zones = [
        {"name": "Front", "rows": [1, 1], "price": "150.00"},
        {"name": "Extra legroom", "rows": [2, 2], "price": "100.00"},
    ]
    fronted.save()
    other_id, other_token = new_order()
    apart = ["3B", "3E", "4A", "4C", "4D", "4F", "5B", "5E"]  # rows 3-5 keep free seats, none side by side
    assert post(api, f"/orders/{other_id}/seats", {"seats": apart}, other_token).status_code == 200
    order_id, token = new_order()
    held = post(api, f"/orders/{order_id}/seats", {"best": 2}, token).json()
    assert (held["Seats"], held["Total"]) == (["2A", "2B"], "200.00")  # the next cheapest, not the front row


def test_when_no_zone_has_enough_free_seats_the_whole_cabin_as_before(api, fronted, new_order):
    order_id, token = new_order()
    assert post(api, f"/orders/{order_id}/seats", {"best": 9}, token).json()["Seats"] == [
        *["3A", "3B", "3C", "4A", "4B", "4C", "5A", "5B", "5C"]
    ]  # the standard zone has 18 free: a 3 x 3 block there, not across zones
    taken = ["3D", "3E", "3F", "4D", "4E", "4F", "5D", *[f"{row}{letter}" for row in (1, 2) for letter in "ABCD"]]
    for start in range(0, len(taken), 9):
        other_id, other_token = new_order()
        assert (
            post(api, f"/orders/{other_id}/seats", {"seats": taken[start : start + 9]}, other_token).status_code == 200
        )
    third_id, third_token = new_order()  # free now: 1E 1F 2E 2F in front, 5E 5F behind
    assert post(api, f"/orders/{third_id}/seats", {"best": 4}, third_token).json()["Seats"] == ["1E", "1F", "2E", "2F"]
    assert post(api, f"/orders/{third_id}/seats", {"best": 5}, third_token).json()["Seats"] == [
        *["1E", "1F", "2E", "2F", "5E"]  # the fifth from another zone (its own four count as free)
    ]


def test_the_proposal_says_seats_zones_and_price_and_holds_nothing(api, fronted, new_order):
    order_id, token = new_order()
    response = best(api, order_id, token, count=2)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "orderID": order_id,
        "seats": ["3A", "3B"],
        "zones": ["Standard"],
        "total": "178.00",
        "currency": "EUR",
        "heldSeats": [],
        "heldTotal": "0.00",
        "difference": "178.00",
    }
    assert not SeatHold.objects.exists()
    assert api.get(f"/orders/{order_id}/status", **bearer(token)).json()["State"] == "PENDING"


def test_the_proposal_compares_with_the_seats_held_now(api, fronted, new_order):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["5E", "5F"]}, token)
    front = best(api, order_id, token, count=2, zone="front").json()
    assert (front["seats"], front["zones"], front["total"]) == (["1A", "1B"], ["Front"], "258.00")
    assert (front["heldSeats"], front["heldTotal"], front["difference"]) == (["5E", "5F"], "178.00", "80.00")
    cheaper = best(api, order_id, token, count=1).json()
    assert (cheaper["seats"], cheaper["difference"]) == (["3A"], "-89.00")
    assert api.get(f"/orders/{order_id}/status", **bearer(token)).json()["Seats"] == ["5E", "5F"]


def test_the_proposal_is_what_holding_then_gives(fronted):
    order, _ = services.create_order(flight_code=fronted.code, actor="test")
    proposal = propose_best_seats(order_id=order.pk, count=3, zone=None)
    held = services.select_seats(order_id=order.pk, labels=proposal.seats, actor="test")
    assert held.status["Seats"] == proposal.seats and held.status["Total"] == "267.00" == str(proposal.total)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({}, "invalid_seat_count"),
        ({"count": "x"}, "invalid_seat_count"),
        ({"count": "0"}, "too_many_seats"),
        ({"count": "10"}, "too_many_seats"),
        ({"count": "2", "zone": "Cargo"}, "invalid_zone"),
        ({"count": "2", "zone": ""}, "invalid_zone"),
        ({"count": "2", "seats": "1A"}, "invalid"),
    ],
)
def test_bad_counts_and_zones_are_400s_with_a_code(api, fronted, new_order, query, code):
    order_id, token = new_order()
    response = best(api, order_id, token, **query)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code


def test_the_proposal_is_refused_as_a_seat_change_would_be(api, fronted, new_order):
    order_id, token = new_order()
    other_id, _other_token = new_order()
    assert best(api, other_id, token, count=2).status_code == 403  # not its order
    assert best(api, "o-nobody", token, count=2).status_code == 404
    post(api, f"/orders/{other_id}/seats", {"seats": ["1A", "1B", "1C", "1D"]}, _other_token)
    short = best(api, order_id, token, count=9, zone="Front")
    assert short.status_code == 409 and (short.json()["code"], short.json()["short"]) == ("not_enough_seats", 1)
    post(api, f"/orders/{order_id}/cancel", {}, token)
    assert best(api, order_id, token, count=2).json()["code"] == "wrong_state"


def test_the_schema_describes_the_proposal(client):
    schema = client.get("/api/schema/", {"format": "json"}, HTTP_HOST="127.0.0.1").json()
    operation = schema["paths"]["/orders/{order_id}/seats/best"]["get"]
    assert set(operation["responses"]) >= {"200", "400", "403", "404", "409", "429"}
    count = next(p for p in operation["parameters"] if p["name"] == "count")
    assert count["required"] and (count["schema"]["minimum"], count["schema"]["maximum"]) == (1, 9)
