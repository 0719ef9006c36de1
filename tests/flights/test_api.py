import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from flights.models import Flight, Seat
from flights.services import create_flight

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_demo_flights_once():
    call_command("seed_demo")
    call_command("seed_demo")
    assert Flight.objects.filter(code="F-100").get().seats.count() == 180
    fl001 = Flight.objects.get(code="FL-001")
    assert (fl001.rows, fl001.letters) == (5, "ABCDEF")
    assert list(fl001.seats.values_list("label", flat=True)[:7]) == ["1A", "1B", "1C", "1D", "1E", "1F", "2A"]
    assert Seat.objects.filter(flight=fl001).count() == 30
    assert Flight.objects.filter(code__in=["F-100", "FL-001"]).count() == 2


def test_flight_list_shows_code_route_departure_and_seats_left(api, new_order, flight):
    order_id, token = new_order()
    api.post(f"/orders/{order_id}/seats", {"seats": ["1A", "1B"]}, format="json", HTTP_AUTHORIZATION=f"Bearer {token}")
    [entry] = api.get("/flights").json()
    assert entry["flightID"] == "FL-001" and entry["route"] == "Tel Aviv → Athens"
    assert entry["departure"].endswith("Z")
    assert (entry["seatsLeft"], entry["total"]) == (28, 30)


def test_a_flight_leaves_the_list_a_day_after_departure_and_keeps_its_own_url(api, flight):
    """The list is the flights on offer, not every flight ever sold (it grew with history without bound)."""
    departed = timezone.now() - dt.timedelta(days=1, minutes=1)
    create_flight(code="FL-OLD", origin="A", destination="B", departs_at=departed, rows=2, letters="AB")
    assert [entry["flightID"] for entry in api.get("/flights").json()] == ["FL-001"]
    assert api.get("/flights/FL-OLD").status_code == 200


def test_flight_detail_has_the_seat_map_layout(api, flight):
    body = api.get("/flights/FL-001").json()
    assert body["layout"] == {"rows": 5, "letters": "ABCDEF", "aislesAfter": "C"}
    assert body["total"] == 30


@pytest.mark.parametrize("path", ["/flights/NOPE", "/flights/NOPE/available-seats"])
def test_unknown_flight_is_a_json_404(api, db, path):
    response = api.get(path)
    assert response.status_code == 404 and "NOPE" in response.json()["error"]


def test_flights_seats_and_orders_are_visible_in_the_admin(client, flight):
    staff = User.objects.create_superuser("admin", "admin@example.com", "x")
    client.force_login(staff)
    for path in (
        "/admin/flights/flight/",
        "/admin/flights/seat/",
        "/admin/orders/order/",
        f"/admin/flights/flight/{flight.pk}/change/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
    assert b"FL-001" in client.get("/admin/flights/flight/").content
