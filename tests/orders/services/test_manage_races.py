"""Races on a paid booking, on PostgreSQL with real threads: two changes of one booking at once, and a
change racing another buyer for the same seat. Each has a control with the protection off that shows the
race, so that the protected test can fail."""

import threading
import time
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from core.errors import Conflict
from inventory import holds_sql
from inventory import services as inventory_services
from inventory.models import HoldState, SeatHold
from orders import queue, services
from orders.models import BookingChange, ChangeState, Order, OrderState
from orders.services import manage
from tests.orders.services.test_seats import without_the_early_refusal
from tests.paid_bookings import two_zone_flight

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]
ROUNDS = 6


@pytest.fixture
def flight(db, monkeypatch):
    """Rows 1-3 cost 150.00, the rest 100.00; departs in two days. Charges stay in progress (no worker)."""
    monkeypatch.setattr(queue, "enqueue_money", lambda kind, pk: None)
    monkeypatch.setattr(queue, "enqueue_notice", lambda notice_id: None)
    return two_zone_flight(code="FL-301", rows=20, front=(1, 3))


def booked(flight, labels: list[str]) -> Order:
    """A CONFIRMED booking of `labels` (made as a payment's success leaves one; that path is tested elsewhere)."""
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=labels, actor="test")
    SeatHold.objects.filter(order_id=order.pk).update(state=HoldState.CONFIRMED, expires_at=None)
    Order.objects.filter(pk=order.pk).update(state=OrderState.CONFIRMED, amount="200.00", currency="EUR")
    return Order.objects.get(pk=order.pk)


def at_once(*calls) -> list[object]:
    """Run the calls at the same instant in threads; each one's result or the exception it raised."""
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i, call):
        try:
            start.wait()
            results[i] = call()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def two_changes_at_once(order: Order) -> list[object]:
    return at_once(
        lambda: services.change_booking_seats(order_id=order.pk, labels=["1A", "1B"], code="11111", actor="a"),
        lambda: services.change_booking_seats(order_id=order.pk, labels=["2A", "2B"], code="22222", actor="b"),
    )


def widened_check(monkeypatch) -> None:
    """A pause after the check for a change in progress: the window a second change would slip through."""
    check = manage._check_no_change_running

    def check_then_pause(order):
        check(order)
        time.sleep(0.2)

    monkeypatch.setattr(manage, "_check_no_change_running", check_then_pause)


def test_two_changes_of_one_booking_at_once_make_one(flight, monkeypatch):
    widened_check(monkeypatch)
    outcomes: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        order = booked(flight, [f"{10 + round_}A", f"{10 + round_}B"])
        results = two_changes_at_once(order)
        outcomes.update(type(r).__name__ if isinstance(r, Exception) else "changed" for r in results)
        assert BookingChange.objects.filter(order=order, state=ChangeState.CHARGING).count() == 1
        assert SeatHold.objects.live(at=timezone.now()).filter(order_id=order.pk).count() == 4  # 2 booked + 2 held
        refused = [r for r in results if isinstance(r, Exception)]
        assert len(refused) == 1 and isinstance(refused[0], Conflict) and refused[0].code == "change_in_progress"
        BookingChange.objects.filter(order=order).update(state=ChangeState.UNDONE)
        SeatHold.objects.filter(order_id=order.pk, state=HoldState.HELD).update(state=HoldState.RELEASED)
    print(f"two changes at once, {ROUNDS} rounds: {dict(outcomes)}")


def test_control_without_the_orders_lock_and_constraint_both_changes_run(flight, monkeypatch):
    widened_check(monkeypatch)
    monkeypatch.setattr(manage, "lock_order", lambda order_id: Order.objects.select_related("flight").get(pk=order_id))
    constraint = next(c for c in BookingChange._meta.constraints if c.name == "one_change_at_a_time")
    with connection.schema_editor() as editor:
        editor.remove_constraint(BookingChange, constraint)
    try:
        order = booked(flight, ["10A", "10B"])
        two_changes_at_once(order)
        running = BookingChange.objects.filter(order=order, state=ChangeState.CHARGING).count()
        live = SeatHold.objects.live(at=timezone.now()).filter(order_id=order.pk).count()
    finally:
        BookingChange.objects.all().delete()
        with connection.schema_editor() as editor:
            editor.add_constraint(BookingChange, constraint)
    print(f"control: {running} changes in progress, {live} live holds for a 2-seat booking")
    assert running == 2 and live == 6, "the race never showed: the protected test cannot fail"


def change_against_buyer(flight, round_: int) -> tuple[Order, Order, list[object]]:
    """A booking of <row>A, <row>B changes <row>A for <row>C (same price: settled at once) while another
    buyer takes <row>C."""
    row = 4 + round_
    order = booked(flight, [f"{row}A", f"{row}B"])
    buyer, _ = services.create_order(flight_code=flight.code, actor="test")
    results = at_once(
        lambda: services.change_booking_seats(order_id=order.pk, labels=[f"{row}C", f"{row}B"], code=None, actor="a"),
        lambda: services.select_seats(order_id=buyer.pk, labels=[f"{row}C"], actor="b"),
    )
    return order, buyer, results


def live_seats(order: Order) -> list[str]:
    return sorted(
        SeatHold.objects.live(at=timezone.now()).filter(order_id=order.pk).values_list("seat__label", flat=True)
    )


def test_a_change_racing_a_buyer_for_a_seat_never_both_and_never_loses_the_old_seats(flight):
    winners: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        order, buyer, results = change_against_buyer(flight, round_)
        row = 4 + round_
        booking_won = not isinstance(results[0], Exception)
        buyer_won = not isinstance(results[1], Exception)
        assert booking_won != buyer_won, results  # exactly one has the seat
        assert live_seats(order) == ([f"{row}B", f"{row}C"] if booking_won else [f"{row}A", f"{row}B"])
        assert live_seats(buyer) == ([] if booking_won else [f"{row}C"])
        assert SeatHold.objects.live(at=timezone.now()).filter(seat__label=f"{row}C").count() == 1
        winners["booking" if booking_won else "buyer"] += 1
    print(f"a change against a buyer, {ROUNDS} rounds: {dict(winners)}")


def test_control_without_seat_locks_and_the_constraint_both_get_the_seat(flight, monkeypatch):
    monkeypatch.setattr(inventory_services, "lock_all", lambda queryset: list(queryset.order_by("pk")))
    monkeypatch.setattr(holds_sql, "ARBITER", "")
    without_the_early_refusal(monkeypatch)
    end = inventory_services._end  # called between the change's check and its insert: the window, widened

    def pause_then_end(*args, **kwargs):
        time.sleep(0.2)
        end(*args, **kwargs)

    monkeypatch.setattr(inventory_services, "_end", pause_then_end)
    constraint = next(c for c in SeatHold._meta.constraints if c.name == "one_live_hold_per_seat")
    with connection.schema_editor() as editor:
        editor.remove_constraint(SeatHold, constraint)
    try:
        doubled = 0
        for round_ in range(ROUNDS):
            change_against_buyer(flight, round_)
            doubled += SeatHold.objects.live(at=timezone.now()).filter(seat__label=f"{4 + round_}C").count() > 1
    finally:
        SeatHold.objects.all().delete()
        with connection.schema_editor() as editor:
            editor.add_constraint(SeatHold, constraint)
    print(f"control: the seat held twice in {doubled} of {ROUNDS} rounds")
    assert doubled, "the race never showed: the protected test cannot fail"
