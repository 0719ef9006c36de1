"""Expiry stays on time on a database with a past: the real timer loop, a million rows of history, a few
dozen holds lapsing over a few seconds while the loop refreshes the figures of /metrics every half second
(on that past a refresh that read whole tables took longer than the lateness allowed here)."""

import datetime as dt
import math

import pytest
from django.utils import timezone

from core.models import Heartbeat
from flights.services import create_flight
from inventory.models import SeatHold
from orders import services
from orders.models import AuditAction, AuditEntry, Order, OrderState
from tests.operations.history import load_history
from tests.processes import Processes, wait_until

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

HOLDS = 48
SPREAD = dt.timedelta(milliseconds=100)  # between one hold's deadline and the next


@pytest.fixture
def processes(transactional_db, tmp_path, settings):
    procs = Processes(tmp_path)
    yield procs
    procs.kill_all()
    print(procs.logs())  # pytest shows it only when the test failed


def p99(values: list[float]) -> float:
    return sorted(values)[math.ceil(0.99 * len(values)) - 1]


def test_expiry_lateness_stays_low_on_a_database_with_history(processes, settings):
    load_history()
    plane = create_flight(
        code="BIG-1", origin="A", destination="B", departs_at=timezone.now(), rows=10, letters="ABCDEF"
    )
    ids = []
    for i in range(HOLDS):
        order, _ = services.create_order(flight_code=plane.code, actor="test")
        services.select_seats(order_id=order.pk, labels=[f"{i // 6 + 1}{'ABCDEF'[i % 6]}"], actor="test")
        ids.append(order.pk)
    processes.configure(settings, METRICS_REFRESH_SECONDS=0.5)
    processes.start("run_timers")
    wait_until(lambda: Heartbeat.objects.filter(name="timers").exists(), timeout=30, what="the timer loop")
    first = timezone.now() + dt.timedelta(seconds=1)
    for i, order_id in enumerate(ids):
        Order.objects.filter(pk=order_id).update(hold_expires_at=first + i * SPREAD)
        SeatHold.objects.filter(order_id=order_id).update(expires_at=first + i * SPREAD)
    wait_until(
        lambda: not Order.objects.filter(pk__in=ids, state=OrderState.SEATS_SELECTED).exists(),
        timeout=30,
        what="every hold to expire",
    )
    late = [
        entry.details["late_ms"] / 1000
        for entry in AuditEntry.objects.filter(order_id__in=ids, action=AuditAction.EXPIRE, actor="system:timers")
    ]
    print(f"expiry lateness over {len(late)} holds: p99 {p99(late):.3f} s, max {max(late):.3f} s")
    assert len(late) == HOLDS
    assert p99(late) < 0.5
