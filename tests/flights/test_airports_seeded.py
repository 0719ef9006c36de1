"""The demo's airports: seed_demo makes them with its flights; a database seeded before airports existed gets
those its flights name from the migration, its flights linked (a fresh one gets none from it)."""

import datetime as dt
import io
import zoneinfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from flights.models import Airport, Flight
from flights.times import airport_time

BEFORE = [("flights", "0005_flight_code_pattern")]
AFTER = [("flights", "0006_airports")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db
def test_seed_demo_makes_the_airports_and_the_flights_times_local():
    assert not Airport.objects.exists()  # none from the migration in a fresh database
    call_command("seed_demo", stdout=io.StringIO())
    flight = Flight.objects.select_related("origin_airport", "destination_airport").get(code="F-100")
    assert flight.origin_airport and flight.destination_airport and flight.arrives_at
    assert (flight.origin_airport.time_zone, flight.destination_airport.time_zone) == (
        "Europe/Amsterdam",
        "Europe/Lisbon",
    )
    local = flight.departs_at.astimezone(zoneinfo.ZoneInfo("Europe/Amsterdam"))
    assert airport_time(flight.departs_at, flight.origin_airport).endswith(f", {local:%H:%M} (Amsterdam time)")
    assert all(len(f.letters) <= 10 for f in Flight.objects.all())


@pytest.mark.django_db(transaction=True)
def test_a_database_seeded_before_airports_gets_the_demo_airports_its_flights_name():
    old = migrate(BEFORE)
    try:
        OldFlight = old.get_model("flights", "Flight")
        departs = dt.datetime(2026, 12, 14, 9, 30, tzinfo=dt.UTC)
        OldFlight.objects.create(code="F-100", origin="Amsterdam", destination="Lisbon", departs_at=departs, rows=1)
        OldFlight.objects.create(code="X-1", origin="Paris", destination="Amsterdam", departs_at=departs, rows=1)
    finally:
        new = migrate(AFTER)
    try:
        NewAirport, NewFlight = new.get_model("flights", "Airport"), new.get_model("flights", "Flight")
        assert sorted(NewAirport.objects.values_list("code", flat=True)) == ["AMS", "LIS"]
        linked = {f.code: (f.origin_airport_id, f.destination_airport_id) for f in NewFlight.objects.all()}
        amsterdam, lisbon = (NewAirport.objects.get(code=code).pk for code in ("AMS", "LIS"))
        assert linked == {"F-100": (amsterdam, lisbon), "X-1": (None, amsterdam)}
    finally:  # back to the latest migrations, which the tests after this one expect
        executor = MigrationExecutor(connection)
        migrate(executor.loader.graph.leaf_nodes())
