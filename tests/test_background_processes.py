"""Payments and expiry with the real processes: a django-q2 cluster and timer loops, on PostgreSQL.

Timed behaviour runs with short settings (a 2 s hold, a 50 ms gateway); crashes are real SIGKILLs.
"""

import datetime as dt
import itertools

import pytest
from django.db.models import Count

from flights.services import create_flight
from inventory.models import LIVE_HOLD_STATES, SeatHold
from orders import services
from orders.gateway_ledger_sql import Ledger
from orders.models import AttemptOutcome, AuditEntry, Order, OrderState, PaymentAttempt
from orders.selectors import order_status
from tests.processes import Processes, wait_until

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

FINAL = (OrderState.CONFIRMED, OrderState.FAILED)


def known(moment: dt.datetime | None) -> dt.datetime:
    """A time the situation guarantees: a settled attempt's end, an expired order's deadline."""
    assert moment is not None
    return moment


@pytest.fixture
def processes(transactional_db, tmp_path, settings):
    procs = Processes(tmp_path)
    procs.configure(settings, PAYMENT_LATENCY_SECONDS=0.05, PAYMENT_FAILURE_RATE=0)
    yield procs
    procs.kill_all()
    print(procs.logs())  # pytest shows it only when the test failed


@pytest.fixture
def plane(db):
    from django.utils import timezone

    return create_flight(
        code="BIG-1", origin="A", destination="B", departs_at=timezone.now(), rows=20, letters="ABCDEF"
    )


def orders_holding(plane, n: int) -> list[str]:
    """n orders, each holding one seat of its own."""
    ids = []
    for i in range(n):
        order, _ = services.create_order(flight_code=plane.code, actor="test")
        services.select_seats(order_id=order.pk, labels=[f"{i // 6 + 1}{'ABCDEF'[i % 6]}"], actor="test")
        ids.append(order.pk)
    return ids


def orders_paying(plane, n: int) -> list[str]:
    """n orders, each holding one seat, whose payments have been submitted."""
    ids = orders_holding(plane, n)
    for order_id in ids:
        services.submit_payment(order_id=order_id, code="12345", actor="test")
    return ids


def settled(ids: list[str]) -> bool:
    return not Order.objects.filter(pk__in=ids).exclude(state__in=FINAL).exists()


def assert_invariants() -> None:
    assert (
        not SeatHold.objects.filter(state__in=LIVE_HOLD_STATES).values("seat").annotate(n=Count("id")).filter(n__gt=1)
    )
    assert not PaymentAttempt.objects.values("order").annotate(n=Count("id")).filter(n__gt=3)
    assert not PaymentAttempt.objects.filter(outcome="success").values("order").annotate(n=Count("id")).filter(n__gt=1)


def test_a_gateway_that_never_fails_confirms_after_one_attempt(processes, plane):
    processes.start("run_worker")
    processes.start("run_timers")
    [order_id] = orders_paying(plane, 1)
    wait_until(lambda: settled([order_id]), timeout=15, what="the payment to settle")
    order = Order.objects.get(pk=order_id)
    assert order.state == OrderState.CONFIRMED
    assert list(order.payment_attempts.values_list("outcome", flat=True)) == ["success"]
    assert order_status(order=order)["AttemptsLeft"] == 2


def test_a_gateway_that_always_fails_fails_after_three_attempts_spaced_by_the_backoff(processes, plane, settings):
    processes.configure(settings, PAYMENT_FAILURE_RATE=1)
    processes.start("run_worker")
    processes.start("run_timers")
    [order_id] = orders_paying(plane, 1)
    wait_until(lambda: settled([order_id]), timeout=20, what="the payment to settle")
    order = Order.objects.get(pk=order_id)
    status = order_status(order=order)
    assert (status["State"], status["AttemptsLeft"], status["PaymentStatus"]) == ("FAILED", 0, "failed")
    assert status["LastPaymentErr"].count("declined") == 3
    attempts = list(order.payment_attempts.order_by("number"))
    assert [a.outcome for a in attempts] == ["declined"] * 3
    gaps = [(b.started_at - known(a.finished_at)).total_seconds() for a, b in itertools.pairwise(attempts)]
    print(f"backoff gaps: {gaps}")
    assert 1.0 <= gaps[0] < 2.0 and 2.0 <= gaps[1] < 3.0
    assert SeatHold.objects.filter(order_id=order.pk, state__in=LIVE_HOLD_STATES).count() == 0


def test_a_gateway_slower_than_the_timeout_fails_each_attempt_as_a_timeout(processes, plane, settings):
    processes.configure(
        settings, PAYMENT_LATENCY_SECONDS=5, PAYMENT_TIMEOUT_SECONDS=0.5, PAYMENT_BACKOFF_INITIAL_SECONDS=0.2
    )
    processes.start("run_worker")
    processes.start("run_timers")
    [order_id] = orders_paying(plane, 1)
    wait_until(lambda: settled([order_id]), timeout=20, what="the payment to settle")
    attempts = list(PaymentAttempt.objects.filter(order_id=order_id).order_by("number"))
    assert [a.outcome for a in attempts] == ["timeout"] * 3
    durations = [(known(a.finished_at) - a.started_at).total_seconds() for a in attempts]
    print(f"attempt durations: {durations}")
    assert all(0.5 <= d < 1.5 for d in durations)
    assert Order.objects.get(pk=order_id).state == OrderState.FAILED


def test_holds_expire_within_two_seconds_of_the_deadline_without_any_request(processes, plane, settings):
    processes.configure(settings, SEAT_HOLD_SECONDS=2)
    processes.start("run_worker")
    processes.start("run_timers")
    ids = orders_holding(plane, 60)
    wait_until(
        lambda: not Order.objects.filter(pk__in=ids, state=OrderState.SEATS_SELECTED).exists(),
        timeout=10,
        what="every hold to expire",
    )
    lateness = sorted(
        (entry.created_at - known(entry.order.hold_expires_at)).total_seconds()
        for entry in AuditEntry.objects.filter(action="expire").select_related("order")
    )
    print(
        f"expiry lateness over {len(lateness)} orders: median {lateness[len(lateness) // 2]:.3f} s, "
        f"worst {lateness[-1]:.3f} s"
    )
    assert len(lateness) == 60
    assert lateness[-1] < 2.0
    assert not SeatHold.objects.filter(state__in=LIVE_HOLD_STATES).exists()


def test_a_worker_killed_mid_payment_is_recovered_without_a_fourth_attempt_or_second_success(
    processes, plane, settings, tmp_path
):
    ledger = Ledger(tmp_path / "gateway-ledger.sqlite3")
    processes.configure(
        settings,
        PAYMENT_LATENCY_SECONDS=1.5,
        PAYMENT_TIMEOUT_SECONDS=3,
        PAYMENT_LOST_MARGIN_SECONDS=1,
        PAYMENT_GATEWAY_LEDGER=ledger.path,
    )
    cluster = processes.start("run_worker")
    processes.start("run_timers")
    ids = orders_paying(plane, 4)
    wait_until(
        lambda: PaymentAttempt.objects.filter(outcome=AttemptOutcome.RUNNING).exists(),
        timeout=10,
        what="an attempt to start",
    )
    processes.kill(cluster)
    assert not settled(ids)
    processes.start("run_worker")
    wait_until(lambda: settled(ids), timeout=30, what="every payment to settle after the crash")
    outcomes = list(PaymentAttempt.objects.values_list("outcome", flat=True))
    print(f"attempt outcomes after the crash: {sorted(outcomes)}")
    # Each attempt the crash cut short was reconciled with the gateway: charged once, or made again
    # under its own key; none used up another attempt.
    assert outcomes == [AttemptOutcome.SUCCESS] * len(ids)
    assert [ledger.charges(order_id) for order_id in ids] == [1] * len(ids)
    assert set(Order.objects.filter(pk__in=ids).values_list("state", flat=True)) == {OrderState.CONFIRMED}
    assert_invariants()


def test_holds_that_fall_due_while_no_timer_loop_runs_are_caught_up_once(processes, plane, settings):
    processes.configure(settings, SEAT_HOLD_SECONDS=1)
    timers = processes.start("run_timers")
    processes.kill(timers)
    ids = orders_holding(plane, 10)
    wait_until(
        lambda: order_status(order=Order.objects.get(pk=ids[-1]))["State"] == "EXPIRED", timeout=5, what="the deadline"
    )
    # Logically expired for everyone at once, though nothing has swept them yet.
    assert set(Order.objects.filter(pk__in=ids).values_list("state", flat=True)) == {OrderState.SEATS_SELECTED}
    assert all(order_status(order=o)["State"] == "EXPIRED" for o in Order.objects.filter(pk__in=ids))
    # Two loops at once, as in a deployment with several: each order is expired exactly once.
    processes.start("run_timers")
    processes.start("run_timers")
    wait_until(
        lambda: not Order.objects.filter(pk__in=ids, state=OrderState.SEATS_SELECTED).exists(),
        timeout=10,
        what="the restarted loops to catch up",
    )
    assert (
        list(
            AuditEntry.objects.filter(action="expire")
            .values("order")
            .annotate(n=Count("id"))
            .values_list("n", flat=True)
        )
        == [1] * 10
    )
    assert_invariants()


def test_health_follows_the_timer_loop_and_the_worker(processes, settings, client):
    processes.configure(
        settings, HEARTBEAT_SECONDS=0.3, HEALTH_TIMERS_MAX_AGE_SECONDS=2, HEALTH_WORKER_MAX_AGE_SECONDS=2
    )

    def health():
        response = client.get("/health", HTTP_HOST="127.0.0.1")
        return response.status_code, response.json()

    assert health()[0] == 503
    cluster = processes.start("run_worker")
    processes.start("run_timers")
    wait_until(lambda: health()[0] == 200, timeout=15, what="both heartbeats")
    processes.kill(cluster)
    _status, body = wait_until(
        lambda: (lambda h: h if h[0] == 503 else None)(health()), timeout=10, what="the worker to be reported down"
    )
    assert body["down"] == ["worker"] and body["checks"]["worker"].startswith("down: last report")
    assert body["checks"]["timers"].startswith("ok")
