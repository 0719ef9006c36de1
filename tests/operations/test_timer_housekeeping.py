"""The timer loop's periodic work (metrics snapshot, retention) never delays an expiry, and two loops never
refresh the snapshot together (orders/timers.py's housekeeping thread, orders/metrics.py)."""

import datetime as dt
import threading
import time

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from orders import services
from orders.models import AuditAction, AuditEntry, MetricsSnapshot, Order

pytestmark = pytest.mark.django_db(transaction=True)


def run_loop(stop: threading.Event) -> threading.Thread:
    from orders import timers

    def loop():
        try:
            timers.run(stop)
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=loop)
    thread.start()
    return thread


def test_a_slow_metrics_refresh_never_delays_an_expiry(flight, settings, monkeypatch):
    from orders import timers
    from tests.processes import wait_until

    refreshing = threading.Event()

    def slow_refresh():  # as a refresh over whole tables of history was: seconds
        refreshing.set()
        time.sleep(2.5)

    monkeypatch.setattr(timers, "refresh_snapshot", slow_refresh)
    settings.METRICS_REFRESH_SECONDS = 0.2
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A"], actor="test")
    stop = threading.Event()
    thread = run_loop(stop)
    try:
        assert refreshing.wait(5)
        Order.objects.filter(pk=order.pk).update(hold_expires_at=timezone.now() + dt.timedelta(seconds=0.3))
        wait_until(
            lambda: AuditEntry.objects.filter(order_id=order.pk, action=AuditAction.EXPIRE).exists(),
            timeout=10,
            what="the expiry",
        )
    finally:
        stop.set()
        thread.join(10)
    late_ms = AuditEntry.objects.get(order_id=order.pk, action=AuditAction.EXPIRE).details["late_ms"]
    assert late_ms < 1000  # a tick is 0.2 s; the refresh in the way would have made it about 2 s late


@pytest.mark.postgres_only
def test_a_loop_that_finds_the_snapshot_being_refreshed_leaves_it_to_the_other(flight):
    from orders.metrics import refresh_snapshot

    refresh_snapshot()
    taken_at = MetricsSnapshot.objects.get(pk=1).taken_at
    locked, release = threading.Event(), threading.Event()

    def other_loop():  # holds the row as a refresh in progress does
        try:
            with transaction.atomic():
                MetricsSnapshot.objects.select_for_update().get(pk=1)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    other = threading.Thread(target=other_loop)
    other.start()
    try:
        assert locked.wait(5)
        began = time.monotonic()
        refresh_snapshot()
        assert time.monotonic() - began < 1  # did not wait for the other
        assert MetricsSnapshot.objects.get(pk=1).taken_at == taken_at
    finally:
        release.set()
        other.join(10)
    refresh_snapshot()
    assert MetricsSnapshot.objects.get(pk=1).taken_at > taken_at
