"""A seat change as one statement on the order as the early read saw it (orders/services/seats.py,
`change_if_unchanged`; docs/locking.md). The statement locks the order itself and is undone unless the
order is still at the version read, so a change committed between the read and the statement, or one
the statement's lock waited for, sends the request to the locked path, which decides on the order as it
is then. Each race has a control with the version check switched off that shows the stale write.
"""

import threading
import time

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import InvalidInput
from core.events.eventstream import EventCounter, EventRow
from core.metrics import SEAT_CHANGES_UNDONE
from core.statement import OneStatement
from inventory.models import SeatHold
from orders import services
from orders.models import AuditEntry, Order, OrderState
from orders.services import seats as seat_changes
from tests.processes import test_database_url as database_url

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

NO_VERSION_CHECK = "%s::text IS NOT NULL"  # the controls' UNCHANGED_SQL: any version passes


def after_the_early_read(monkeypatch, meanwhile) -> None:
    """Run `meanwhile` (committed on its own) between the change's early read and its statement."""
    read = seat_changes.read_before_change

    def read_then_meanwhile(**kwargs):
        before = read(**kwargs)
        monkeypatch.setattr(seat_changes, "read_before_change", read)  # once: `meanwhile` may read too
        meanwhile()
        return before

    monkeypatch.setattr(seat_changes, "read_before_change", read_then_meanwhile)


def held(order_id: str) -> list[str]:
    return sorted(SeatHold.objects.filter(order_id=order_id, state="HELD").values_list("seat__label", flat=True))


def cancelled_after_the_read(flight, monkeypatch) -> tuple[str, services.WrongState | None]:
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    after_the_early_read(monkeypatch, lambda: services.cancel_order(order_id=order.pk, actor="test"))
    try:
        services.select_seats(order_id=order.pk, labels=["2A"], actor="test")
    except services.WrongState as refused:
        return order.pk, refused
    return order.pk, None


def test_an_order_cancelled_after_the_read_is_refused_for_its_state(flight, monkeypatch):
    order_id, refused = cancelled_after_the_read(flight, monkeypatch)
    assert refused is not None and refused.extra["state"] == OrderState.CANCELLED
    assert Order.objects.get(pk=order_id).state == OrderState.CANCELLED and held(order_id) == []


def test_control_without_the_version_check_the_cancelled_order_holds_seats_again(flight, monkeypatch):
    monkeypatch.setattr(seat_changes, "UNCHANGED_SQL", NO_VERSION_CHECK)
    order_id, refused = cancelled_after_the_read(flight, monkeypatch)
    assert refused is None and Order.objects.get(pk=order_id).state == OrderState.SEATS_SELECTED
    assert held(order_id) == ["2A"], "the race never showed: the test above cannot fail"


def cancelled_while_the_statement_waits(flight) -> tuple[str, list]:
    """Another transaction has cancelled the order (its row only) but not committed when the change reads
    it; the change's statement waits for that transaction's lock on the order, holding no other lock
    meanwhile, and the wait ends with that transaction's commit."""
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    outcome: list = []

    def change():
        try:
            services.select_seats(order_id=order.pk, labels=["2A"], actor="test")
            outcome.append("changed")
        except services.WrongState as refused:
            outcome.append(refused.extra["state"])
        finally:
            connection.close()

    with psycopg.connect(database_url()) as other, psycopg.connect(database_url(), autocommit=True) as watcher:
        other.execute(
            "UPDATE orders_order SET state = %s, hold_expires_at = NULL, updated_at = now() WHERE id = %s",
            [OrderState.CANCELLED, order.pk],
        )
        thread = threading.Thread(target=change)
        thread.start()
        wait_for_the_order_lock(watcher, thread, outcome)
        # The statement takes the order's lock first: nothing else of the change is locked while it waits.
        with psycopg.connect(database_url()) as third:
            third.execute(f"SELECT 1 FROM {SeatHold._meta.db_table} WHERE order_id = %s FOR UPDATE NOWAIT", [order.pk])
            third.execute(
                f"SELECT 1 FROM {EventCounter._meta.db_table} WHERE name = %s FOR UPDATE NOWAIT",
                [f"flight-{flight.code}"],
            )
            third.rollback()
        other.commit()
    thread.join(10)
    return order.pk, outcome


def wait_for_the_order_lock(watcher, thread, outcome) -> None:
    deadline = time.monotonic() + 10
    while not watcher.execute(  # the change's statement is waiting for the order's lock
        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s", ["%order_unchanged%"]
    ).fetchone():
        assert time.monotonic() < deadline and thread.is_alive(), outcome
        time.sleep(0.01)


def test_a_change_committed_while_the_statement_waits_for_the_lock_sends_it_to_the_locked_path(flight):
    order_id, outcome = cancelled_while_the_statement_waits(flight)
    assert outcome == [OrderState.CANCELLED]
    assert Order.objects.get(pk=order_id).state == OrderState.CANCELLED and held(order_id) == ["1A"]


def test_control_without_the_version_check_the_waiting_statement_writes_on_the_cancelled_order(flight, monkeypatch):
    monkeypatch.setattr(seat_changes, "UNCHANGED_SQL", NO_VERSION_CHECK)
    order_id, outcome = cancelled_while_the_statement_waits(flight)
    assert outcome == ["changed"] and held(order_id) == ["2A"], "the race never showed: the test above cannot fail"


def test_a_lock_given_up_without_a_change_lets_the_statement_go_on(flight):
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    undone, outcome = SEAT_CHANGES_UNDONE._value.get(), []

    def change():
        try:
            with CaptureQueriesContext(connection) as queries:
                services.select_seats(order_id=order.pk, labels=["2A"], actor="test")
            outcome.append(len(queries))
        finally:
            connection.close()

    with psycopg.connect(database_url()) as other, psycopg.connect(database_url(), autocommit=True) as watcher:
        other.execute("SELECT 1 FROM orders_order WHERE id = %s FOR UPDATE", [order.pk])
        thread = threading.Thread(target=change)
        thread.start()
        wait_for_the_order_lock(watcher, thread, outcome)
        other.rollback()
    thread.join(10)
    assert outcome == [2] and SEAT_CHANGES_UNDONE._value.get() == undone  # the read and the one statement
    assert held(order.pk) == ["2A"]


def taken_after_the_read(flight, monkeypatch) -> tuple[str, services.SeatsTaken | None, float]:
    """The order holds 1A and asks for 1A and 2A; another order takes 2A after the early read. Also how
    many statements were undone meanwhile."""
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    other, _ = services.create_order(flight_code=flight.code, actor="test")
    after_the_early_read(monkeypatch, lambda: services.select_seats(order_id=other.pk, labels=["2A"], actor="test"))
    undone = SEAT_CHANGES_UNDONE._value.get()
    try:
        services.select_seats(order_id=order.pk, labels=["1A", "2A"], actor="test")
    except services.SeatsTaken as refused:
        return order.pk, refused, SEAT_CHANGES_UNDONE._value.get() - undone
    return order.pk, None, SEAT_CHANGES_UNDONE._value.get() - undone


def test_a_seat_taken_after_the_read_is_refused_and_nothing_is_written(flight, monkeypatch):
    order_id, refused, undone = taken_after_the_read(flight, monkeypatch)
    assert refused is not None and refused.extra["seats"] == ["2A"]
    assert undone == 1  # counted for operators (GET /metrics)
    assert held(order_id) == ["1A"]
    # created, then 1A selected: the refusal wrote no audit row and no status event
    assert AuditEntry.objects.filter(order_id=order_id).count() == 2
    assert EventRow.objects.filter(channel=f"order-{order_id}", eid__gt=0).count() == 2
    order = Order.objects.get(pk=order_id)
    assert order.hold_expires_at == SeatHold.objects.get(order_id=order_id, state="HELD").expires_at


def test_control_without_undo_the_refused_change_leaves_its_writes(flight, monkeypatch):
    monkeypatch.setattr(OneStatement, "undo_if", lambda self, condition: None)
    order_id, refused, _undone = taken_after_the_read(flight, monkeypatch)
    assert refused is not None  # the answer is the same, but the statement committed what it wrote:
    assert AuditEntry.objects.filter(order_id=order_id).count() == 3, "the undo is not what keeps the writes out"


def test_the_change_is_two_statements_and_leaves_no_transaction_open(flight):
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    with CaptureQueriesContext(connection) as queries:
        services.select_seats(order_id=order.pk, labels=["1B", "1C"], actor="test")
    assert len(queries) == 2, [q["sql"][:60] for q in queries]  # the early read; the change, its own transaction
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert held(order.pk) == ["1B", "1C"]


def test_a_flights_first_seat_event_goes_the_locked_way_and_the_next_change_does_not(flight):
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    assert not EventCounter.objects.filter(name=f"flight-{flight.code}").exists()
    with CaptureQueriesContext(connection) as first:
        services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    with CaptureQueriesContext(connection) as second:
        services.select_seats(order_id=order.pk, labels=["1B"], actor="test")
    assert len(first) > 2 and len(second) == 2
    seat_events = EventRow.objects.filter(channel=f"flight-{flight.code}", eid__gt=0).order_by("eid")
    assert list(seat_events.values_list("eid", flat=True)) == [1, 2]
    assert held(order.pk) == ["1B"]


def test_an_unknown_seat_goes_the_locked_way_without_a_statement_to_undo(flight):
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    undone = SEAT_CHANGES_UNDONE._value.get()
    with pytest.raises(InvalidInput) as refused:
        services.select_seats(order_id=order.pk, labels=["1A", "99Z"], actor="test")
    assert refused.value.extra["seats"] == ["99Z"] and SEAT_CHANGES_UNDONE._value.get() == undone
    assert held(order.pk) == ["1A"]
