"""Many buyers racing for the same seats, each on its own database connection, on PostgreSQL.

The protected run must show no seat with two live holds; the control run, with the partial unique index,
the insert that defers to it (ON CONFLICT) and the early read switched off, must show some, or the
protected run proves nothing.
"""

import dataclasses
import random
import threading
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.db.models import Count
from rest_framework.test import APIClient

from inventory import holds_sql
from inventory import services as inventory_services
from inventory.models import LIVE_HOLD_STATES, SeatHold
from orders import selectors, services
from seatbooking.settings import env_int

CLIENTS = 50
ROUNDS = env_int("RACE_ROUNDS", 8)
POOL = ["1A", "1B", "1C", "1D", "1E", "1F", "2A", "2B", "2C", "2D"]


def without_the_early_refusal(monkeypatch) -> None:
    """The early read still reads, but never refuses: every seat looks free to it."""
    read = selectors.read_before_seat_change

    def read_nothing_taken(**kwargs):
        before = read(**kwargs)
        return dataclasses.replace(before, taken=[]) if before else None

    monkeypatch.setattr(selectors, "read_before_seat_change", read_nothing_taken)


@dataclass
class RaceResult:
    statuses: Counter = field(default_factory=Counter)
    double_held_seats: set = field(default_factory=set)


def double_held_seats() -> set[str]:
    return set(
        SeatHold.objects.filter(state__in=LIVE_HOLD_STATES)
        .values("seat__label")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("seat__label", flat=True)
    )


def race(flight) -> RaceResult:
    """CLIENTS threads, each with its own order and connection, post their picks at once, ROUNDS times."""
    orders = [services.create_order(flight_code=flight.code, actor="race") for _ in range(CLIENTS)]
    rng = random.Random(20261127)
    picks = [[rng.sample(POOL, rng.randint(1, 3)) for _ in range(ROUNDS)] for _ in orders]
    result = RaceResult()
    tally = threading.Lock()
    round_start = threading.Barrier(CLIENTS)
    round_end = threading.Barrier(CLIENTS + 1)  # the main thread counts double holds between these two
    checked = threading.Barrier(CLIENTS + 1)

    def client(order, token, my_picks):
        api = APIClient()
        try:
            for seats in my_picks:
                round_start.wait()
                response = api.post(
                    f"/orders/{order.pk}/seats", {"seats": seats}, format="json", HTTP_AUTHORIZATION=f"Bearer {token}"
                )
                with tally:
                    result.statuses[response.status_code] += 1
                round_end.wait()
                checked.wait()
                # Let go of everything, so that every round is a race for free seats.
                api.post(
                    f"/orders/{order.pk}/seats", {"seats": []}, format="json", HTTP_AUTHORIZATION=f"Bearer {token}"
                )
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=client, args=(o, t, p)) for (o, t), p in zip(orders, picks, strict=False)]
    for t in threads:
        t.start()
    for _round in range(ROUNDS):
        round_end.wait()
        result.double_held_seats |= double_held_seats()
        checked.wait()
    for t in threads:
        t.join()
    return result


WRITE_PATHS = pytest.mark.parametrize("one_statement", [True, False], ids=["one statement", "ORM statements"])


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@WRITE_PATHS
def test_racing_clients_never_hold_a_seat_twice(flight, settings, one_statement):
    settings.SEAT_CHANGE_ONE_STATEMENT = one_statement
    result = race(flight)
    assert result.double_held_seats == set()
    # A buyer who waits for a winner's commit longer than DB_LOCK_TIMEOUT_SECONDS gets 503 busy, with
    # nothing written (50 threads of one process, on a busy machine, can starve the winner of the GIL).
    assert {200, 409} <= set(result.statuses) <= {200, 409, 503}, result.statuses
    assert sum(result.statuses.values()) == CLIENTS * ROUNDS


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@WRITE_PATHS
def test_control_without_lock_and_constraint_double_holds(flight, monkeypatch, settings, one_statement):
    """The same race with the protections off: if this stops failing to protect, the test above is void."""
    settings.SEAT_CHANGE_ONE_STATEMENT = one_statement
    from django.db.models import Q

    from flights.models import Seat

    def lock_nothing(*, holder, flight, labels):
        held_now = SeatHold.objects.filter(order_id=holder, state="HELD").values("seat_id")
        asked = Q(flight_id=flight.pk, label__in=labels)
        return list(Seat.objects.filter(asked | Q(pk__in=held_now)).order_by("id"))

    monkeypatch.setattr(inventory_services, "lock_seats", lock_nothing)  # the ORM path's seat lock
    monkeypatch.setattr(holds_sql, "ARBITER", "")  # the one statement's: no insert is skipped
    without_the_early_refusal(monkeypatch)  # the early refusal, too
    constraint = next(c for c in SeatHold._meta.constraints if c.name == "one_live_hold_per_seat")
    with connection.schema_editor() as editor:
        editor.remove_constraint(SeatHold, constraint)
    try:
        result = race(flight)
    finally:
        SeatHold.objects.all().delete()
        with connection.schema_editor() as editor:
            editor.add_constraint(SeatHold, constraint)
    print(f"control: seats held twice: {sorted(result.double_held_seats)}; statuses {dict(result.statuses)}")
    assert result.double_held_seats, "the race never showed: the protected test cannot fail"


@pytest.fixture
def seat_locked_elsewhere(flight):
    """Seat 1A held by one order, and that hold's row being changed by another transaction (the holder
    extending it, in progress): a new hold of 1A must wait for that transaction to know whether it stays."""
    import threading

    from django.db import transaction

    holder, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=holder.pk, labels=["1A"], actor="test")
    locked, release = threading.Event(), threading.Event()

    def change_the_hold():
        try:
            with transaction.atomic():
                SeatHold.objects.filter(order_id=holder.pk, state="HELD").update(ended_at=None)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=change_the_hold)
    thread.start()
    assert locked.wait(5)
    with connection.cursor() as cursor:  # waiting for that transaction now fails at once instead of blocking
        cursor.execute("SET lock_timeout = '200ms'")
    yield
    release.set()
    thread.join()
    with connection.cursor() as cursor:
        cursor.execute("RESET lock_timeout")


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_seat_visibly_taken_is_refused_without_queueing_for_its_lock(flight, seat_locked_elsewhere):
    """Under a hot seat, the losers must not line up behind the seat's lock one by one."""
    buyer, _ = services.create_order(flight_code=flight.code, actor="test")
    with pytest.raises(services.SeatsTaken) as refused:
        services.select_seats(order_id=buyer.pk, labels=["1A"], actor="test")
    assert refused.value.extra["seats"] == ["1A"]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_control_without_the_unlocked_read_the_loser_waits_for_the_lock(flight, seat_locked_elsewhere, monkeypatch):
    from core.locking import Busy

    without_the_early_refusal(monkeypatch)
    buyer, _ = services.create_order(flight_code=flight.code, actor="test")
    with pytest.raises(Busy):  # it waited for the other transaction until the lock timeout
        services.select_seats(order_id=buyer.pk, labels=["1A"], actor="test")
