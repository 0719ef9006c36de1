"""The timer loop: deadlines are columns, and this loop turns the ones that have come into work.

Each tick expires lapsed holds (directly: a few statements per batch) and hands due payments to the
django-q2 workers. Rows are claimed with SELECT ... FOR UPDATE SKIP LOCKED, so any number of loops may
run at once; whatever fell due while none ran is caught up on the first tick.
"""

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from core import health
from orders import retention, services
from orders.metrics import refresh_snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TickResult:
    expired: list[str]
    payments: list[str]


def tick() -> TickResult:
    expired: list[str] = []
    while batch := services.expire_lapsed_holds():
        expired += batch
    return TickResult(expired=expired, payments=services.enqueue_due_payments())


TRIM_EVERY_SECONDS = 60


def run(stop: threading.Event) -> None:
    log.info("timer loop started (tick %.2f s)", settings.TIMER_TICK_SECONDS)
    next_trim = next_beat = next_metrics = time.monotonic()
    while not stop.is_set():
        started = time.monotonic()
        try:
            if started >= next_beat:  # for GET /health: this loop is alive, and so is a worker if it runs this
                health.beat("timers")
                health.ask_worker_to_beat()
                next_beat = started + settings.HEARTBEAT_SECONDS
            if started >= next_trim:  # transient rows past their window (docs/operations.md#retention)
                retention.run_pass()
                services.enqueue_due_confirmations()  # emails whose task was lost (rare: not worth each tick)
                next_trim = started + TRIM_EVERY_SECONDS
            result = tick()
            if result.expired or result.payments:
                log.info("expired %d orders, enqueued %d payments", len(result.expired), len(result.payments))
            if started >= next_metrics:  # the figures /metrics shows: aggregated here, so a scrape costs one read
                next_metrics = started + settings.METRICS_REFRESH_SECONDS
                refresh_snapshot()
        except Exception:
            # A database restart must not end the loop: drop the connection and try again next tick.
            log.exception("timer tick failed")
            connection.close()
        stop.wait(max(0.0, settings.TIMER_TICK_SECONDS - (time.monotonic() - started)))
    log.info("timer loop stopped")
