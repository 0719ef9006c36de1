"""Each web process that serves event streams writes a report row every HEARTBEAT_SECONDS: its event
delivery's mode and its open streams (operations.models.WebProcessReport). The admin's dashboard reads
the fresh rows, so it shows every streams process's state, not only its own (in the deployed layout the
admin is served by granian's WSGI workers, which have no streams). One row per process, one write per beat;
rows of processes gone for an hour are deleted by the survivors (operations/services.py writes them).
"""

import asyncio
import datetime as dt
import logging
import os
import socket

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from core.events.delivery import DELIVERY
from core.events.storage import release_connection
from core.metrics import OPEN_STREAMS
from operations.services import write_report

log = logging.getLogger(__name__)


def open_streams() -> dict[str, int]:
    """This process's open event streams by kind (the gauge /metrics exports)."""
    return {s.labels["kind"]: int(s.value) for family in OPEN_STREAMS.collect() for s in family.samples}


def process_state() -> dict:
    """What this process reports: its event delivery's mode and its open streams."""
    return {
        "delivery": DELIVERY.mode,
        "delivery_since": DELIVERY.since,
        "delivery_detail": DELIVERY.detail,
        "streams": open_streams(),
    }


class Reporter:
    """The one reporting task of this web process, in its event loop (started with event delivery)."""

    def __init__(self) -> None:
        self._task: asyncio.Task | None = None

    def ensure_started(self) -> None:
        if self._task is None or self._task.done():
            name, started_at = f"{socket.gethostname()}:{os.getpid()}"[:100], timezone.now()
            self._task = asyncio.get_running_loop().create_task(self._run(name, started_at), name="process-report")

    async def _run(self, name: str, started_at: dt.datetime) -> None:
        write = sync_to_async(self._write, thread_sensitive=False)
        while True:
            try:
                await write(name, started_at)
            except Exception:  # a database restart must not end the reports
                log.exception("web process report failed")
            await asyncio.sleep(settings.HEARTBEAT_SECONDS)

    @staticmethod
    def _write(name: str, started_at: dt.datetime) -> None:
        try:
            write_report(name=name, started_at=started_at, **process_state())
        finally:
            release_connection()


REPORTER = Reporter()
