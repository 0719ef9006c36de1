"""A paid booking's seat change and refunds with the real processes: a django-q2 cluster and a timer loop,
on PostgreSQL, with the simulated gateway's ledger (what the "bank" did) shared with them. A worker killed
while a refund waits for the gateway is a real SIGKILL: the refund is still paid exactly once."""

from decimal import Decimal
from typing import Any

import pytest

from orders import services
from orders.gateway_ledger_sql import Ledger
from orders.models import BookingChange, ChangeState, Order, OrderState, Refund, RefundState
from orders.selectors import order_status
from tests.paid_bookings import two_zone_flight
from tests.processes import Processes, wait_until

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    return Ledger(tmp_path / "gateway-ledger.sqlite3")


@pytest.fixture
def processes(transactional_db, tmp_path, settings, ledger):
    procs = Processes(tmp_path)
    procs.configure(
        settings,
        PAYMENT_LATENCY_SECONDS=0.05,
        PAYMENT_FAILURE_RATE=0,
        REFUND_FAILURE_RATE=0,
        PAYMENT_GATEWAY_LEDGER=ledger.path,
    )
    yield procs
    procs.kill_all()
    print(procs.logs())  # pytest shows it only when the test failed


@pytest.fixture
def booking(db, processes):
    """A booking of 5A, 5B (2 x 100.00) paid through the worker; rows 1-2 cost 150.00."""
    processes.start("run_worker")
    processes.start("run_timers")
    two_zone_flight(code="MB-1", rows=10)
    order, _ = services.create_order(flight_code="MB-1", actor="test")
    services.select_seats(order_id=order.pk, labels=["5A", "5B"], actor="test")
    services.submit_payment(order_id=order.pk, code="12345", actor="test")
    wait_until(lambda: Order.objects.get(pk=order.pk).state == OrderState.CONFIRMED, timeout=15, what="the booking")
    return Order.objects.get(pk=order.pk)


def test_a_dearer_change_is_charged_by_the_worker_once(booking, ledger):
    services.change_booking_seats(order_id=booking.pk, labels=["1A", "1B"], code="54321", actor="test")
    wait_until(
        lambda: not BookingChange.objects.filter(state=ChangeState.CHARGING).exists(), timeout=15, what="the change"
    )
    status: Any = order_status(order=Order.objects.get(pk=booking.pk))
    assert (status["Seats"], status["Change"]["State"], status["Total"]) == (["1A", "1B"], "DONE", "300.00")
    assert ledger.charges(booking.pk) == 2


def test_a_cancellation_is_refunded_by_the_worker_once(booking, ledger):
    services.cancel_booking(order_id=booking.pk, actor="test")
    wait_until(lambda: Refund.objects.get().state == RefundState.PAID, timeout=15, what="the refund")
    assert ledger.refunds(booking.pk) == [Decimal("200.00")]


def test_a_worker_killed_while_a_refund_waits_for_the_gateway_still_pays_it_once(booking, ledger, processes, settings):
    processes.kill_all()
    processes.configure(settings, PAYMENT_LATENCY_SECONDS=1.5, PAYMENT_TIMEOUT_SECONDS=3, PAYMENT_LOST_MARGIN_SECONDS=1)
    cluster = processes.start("run_worker")
    processes.start("run_timers")
    services.cancel_booking(order_id=booking.pk, actor="test")
    wait_until(lambda: Refund.objects.get().attempts, timeout=10, what="a refund try to start")
    processes.kill(cluster)  # mid-call: the bank decides halfway, so it may or may not have paid
    processes.start("run_worker")
    wait_until(lambda: Refund.objects.get().state == RefundState.PAID, timeout=30, what="the refund after the crash")
    refund = Refund.objects.get()
    print(f"refund tries after the crash: {refund.attempts}")
    assert ledger.refunds(booking.pk) == [Decimal("200.00")]
    assert len(refund.attempts) == 1  # reconciled or made again under the same key: no second try used
