"""Best available under contention, on PostgreSQL: travellers asking the server for seats at the same
moment never get overlapping seats, and (taking turns per flight) each gets its seats at the first try.
The control run, with the unique index, the insert that defers to it and the turns switched off, shows
them overlapping (every one of them reads the same free seats and chooses alike), or the protected run
proves nothing."""

import threading
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count
from rest_framework.test import APIClient

from inventory import holds_sql
from inventory.models import LIVE_HOLD_STATES, SeatHold
from orders import services

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

CLIENTS = 8
PARTY = 3


def race(flight) -> tuple[Counter, dict[str, list[str]]]:
    """CLIENTS orders each post {"best": PARTY} at once; their answers, and each order's live seats."""
    orders = [services.create_order(flight_code=flight.code, actor="race") for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)
    statuses: Counter = Counter()

    def client(order, token):
        try:
            start.wait()
            response = APIClient().post(
                f"/orders/{order.pk}/seats", {"best": PARTY}, format="json", HTTP_AUTHORIZATION=f"Bearer {token}"
            )
            statuses[response.status_code] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=pair) for pair in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seats: dict[str, list[str]] = {}
    for hold in SeatHold.objects.filter(state__in=LIVE_HOLD_STATES).select_related("seat"):
        seats.setdefault(hold.order_id, []).append(hold.seat.label)
    return statuses, seats


def held_twice() -> list[str]:
    return list(
        SeatHold.objects.filter(state__in=LIVE_HOLD_STATES)
        .values("seat__label")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("seat__label", flat=True)
    )


def test_orders_asking_for_best_at_once_never_get_overlapping_seats(flight):
    statuses, seats = race(flight)
    assert held_twice() == []
    assert statuses == Counter({200: CLIENTS}), statuses  # a seat lost to another makes it choose again
    assert all(len(labels) == PARTY for labels in seats.values()) and len(seats) == CLIENTS
    every = [label for labels in seats.values() for label in labels]
    assert len(every) == len(set(every)) == CLIENTS * PARTY


def test_control_without_the_unique_index_best_requests_overlap(flight, monkeypatch):
    monkeypatch.setattr(holds_sql, "ARBITER", "")  # no insert is skipped
    monkeypatch.setattr(holds_sql, "take_turns_choosing", lambda **kwargs: None)  # choosers all at once
    constraint = next(c for c in SeatHold._meta.constraints if c.name == "one_live_hold_per_seat")
    with connection.schema_editor() as editor:
        editor.remove_constraint(SeatHold, constraint)
    try:
        _statuses, _seats = race(flight)
        twice = held_twice()
    finally:
        SeatHold.objects.all().delete()
        with connection.schema_editor() as editor:
            editor.add_constraint(SeatHold, constraint)
    print(f"control: seats held twice: {sorted(twice)}")
    assert twice, "the race never showed: the protected test cannot fail"
