"""A flight's cabin orientation: positions of the letters, exit rows and wings, checked where they are set."""

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from core.errors import InvalidInput
from flights.layout import parse_exit_rows, parse_wing_rows, seat_positions
from flights.models import Flight
from flights.services import create_flight


def test_windows_at_the_ends_aisles_beside_each_aisle():
    assert seat_positions("ABCDEF", "C") == {
        "A": "window",
        "B": "middle",
        "C": "aisle",
        "D": "aisle",
        "E": "middle",
        "F": "window",
    }
    assert seat_positions("ABCDEFGHJ", "CF") == {
        **{"A": "window", "B": "middle", "C": "aisle", "D": "aisle", "E": "middle", "F": "aisle"},
        **{"G": "aisle", "H": "middle", "J": "window"},
    }


def test_exit_and_wing_rows_are_read_and_checked():
    assert parse_exit_rows("13, 1,12", rows=30) == [1, 12, 13]
    assert parse_exit_rows("", rows=30) == []
    assert list(parse_wing_rows("10-12", rows=30)) == [10, 11, 12]
    assert list(parse_wing_rows(" ", rows=30)) == []
    for bad in ("1;2", "0", "31", "x"):
        with pytest.raises(InvalidInput, match="Exit rows"):
            parse_exit_rows(bad, rows=30)
    for bad in ("12-10", "10", "10-31", "a-b"):
        with pytest.raises(InvalidInput, match="Wing rows"):
            parse_wing_rows(bad, rows=30)


@pytest.mark.django_db
def test_create_flight_refuses_exit_rows_past_the_last_row():
    with pytest.raises(InvalidInput, match="between 1 and 5"):
        create_flight(
            code="X-1",
            origin="A",
            destination="B",
            departs_at=timezone.now(),
            rows=5,
            letters="ABCD",
            exit_rows="6",
        )
    assert not Flight.objects.filter(code="X-1").exists()


@pytest.mark.django_db
def test_an_operator_sets_exit_rows_and_wings_in_the_admin(flight):
    staff = Client()
    staff.force_login(User.objects.create_superuser("ops", password="x"))
    url = f"/admin/flights/flight/{flight.pk}/change/"
    form = {  # the change form's other fields, as they are
        "code": flight.code,
        "origin": flight.origin,
        "destination": flight.destination,
        "departs_at_0": flight.departs_at.date().isoformat(),
        "departs_at_1": flight.departs_at.time().isoformat(),
        "currency": flight.currency,
        "base_fare": str(flight.base_fare),
        "fare_zones": json.dumps(flight.fare_zones),
    }
    page = staff.post(url, {**form, "exit_rows": "9", "wing_rows": "2-3"})
    assert "between 1 and 5" in page.content.decode()
    response = staff.post(url, {**form, "exit_rows": "1,4", "wing_rows": "2-3"})
    assert response.status_code == 302, response.content.decode()[:2000]
    flight.refresh_from_db()
    assert (flight.exit_rows, flight.wing_rows) == ("1,4", "2-3")


@pytest.mark.django_db
def test_the_seed_gives_the_demo_flights_their_orientation():
    from django.core.management import call_command

    call_command("seed_demo")
    assert Flight.objects.get(code="F-100").exit_rows == "1,12,13"
    Flight.objects.filter(code="F-100").update(exit_rows="", wing_rows="")  # seeded before orientation existed
    call_command("seed_demo")
    assert Flight.objects.values_list("exit_rows", "wing_rows").get(code="F-100") == ("1,12,13", "10-18")
