"""The timer loop: deadlines are columns, and this loop turns the ones that have come into work.

Each tick expires lapsed holds (directly: a few statements per batch) and hands due payments to the
django-q2 workers. Rows are claimed with SELECT ... FOR UPDATE SKIP LOCKED, so any number of loops may
run at once; whatever fell due while none ran is caught up on the first tick.

Work that is periodic but not due to anyone (the figures of /metrics, trimming old rows) runs in a
thread of its own, the housekeeping thread, with its own database connection: however long it takes, it
never delays a tick (with ~1 day of history an inline metrics refresh took 0.75 s and pushed expiry
lateness p99 from 0.18 s to 1.3 s). Each loop starts its housekeeping at a random phase, so that two
loops never do it at the same instant.
"""

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from core import health
from orders import retention, services, tasks
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
    services.enqueue_due_money()
    return TickResult(expired=expired, payments=services.enqueue_due_payments())


TRIM_EVERY_SECONDS = 60


def trim() -> None:
    """Transient rows past their window (orders/retention.py, docs/operations.md#retention), and
    confirmation emails whose task was lost (rare: not worth each tick)."""
    retention.run_pass()
    services.enqueue_due_confirmations()
    services.enqueue_due_notices()
    tasks.check_late_payments()


def run(stop: threading.Event) -> None:
    log.info("timer loop started (tick %.2f s)", settings.TIMER_TICK_SECONDS)
    housekeeping = threading.Thread(target=run_housekeeping, args=(stop,), name="timers-housekeeping", daemon=True)
    housekeeping.start()
    next_beat = time.monotonic()
    while not stop.is_set():
        started = time.monotonic()
        try:
            if started >= next_beat:  # for GET /health: this loop is alive, and so is a worker if it runs this
                health.beat("timers")
                health.ask_worker_to_beat()
                next_beat = started + settings.HEARTBEAT_SECONDS
            result = tick()
            if result.expired or result.payments:
                log.info("expired %d orders, enqueued %d payments", len(result.expired), len(result.payments))
        except Exception:
            # A database restart must not end the loop: drop the connection and try again next tick.
            log.exception("timer tick failed")
            connection.close()
        stop.wait(max(0.0, settings.TIMER_TICK_SECONDS - (time.monotonic() - started)))
    housekeeping.join(timeout=10)
    log.info("timer loop stopped")


@dataclass
class Periodic:
    """A housekeeping job: `work` every `every()` seconds, first at a random point of its first period."""

    name: str
    every: Callable[[], float]
    work: Callable[[], None]
    due: float = 0.0

    def start(self, now: float, rng: random.Random) -> None:
        self.due = now + rng.uniform(0, self.every())


def housekeeping_jobs() -> list[Periodic]:
    return [
        Periodic("trim", lambda: TRIM_EVERY_SECONDS, trim),
        # The figures /metrics shows: aggregated here, so that a scrape costs one read.
        Periodic("metrics", lambda: settings.METRICS_REFRESH_SECONDS, refresh_snapshot),
    ]


def run_housekeeping(stop: threading.Event) -> None:
    """The housekeeping thread: each job on its own cadence; a failing job is retried at its next turn."""
    jobs, rng = housekeeping_jobs(), random.Random()
    for job in jobs:
        job.start(time.monotonic(), rng)
    try:
        while not stop.is_set():
            job = min(jobs, key=lambda j: j.due)
            if stop.wait(max(0.0, job.due - time.monotonic())):
                break
            try:
                job.work()
            except Exception:
                log.exception("timer housekeeping (%s) failed", job.name)
                connection.close()  # this thread's own connection
            job.due += job.every()
            if job.due < time.monotonic():  # it took longer than its period: skip the turns it missed
                job.due = time.monotonic() + job.every()
    finally:
        connection.close()
