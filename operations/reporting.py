"""Each web process that serves event streams writes a report row every HEARTBEAT_SECONDS: its event
delivery's mode and its open streams (operations.models.WebProcessReport). The admin's dashboard reads
the fresh rows, so it shows every streams process's state, not only its own (in the deployed layout the
admin is served by gunicorn's workers, which have no streams). One row per process, one write per beat;
rows of processes gone for REPORTS_KEPT are deleted by the survivors.
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

log = logging.getLogger(__name__)
REPORTS_KEPT = dt.timedelta(hours=1)


def open_streams() -> dict[str, int]:
    """This process's open event streams by kind (the gauge /metrics exports)."""
    return {s.labels["kind"]: int(s.value) for family in OPEN_STREAMS.collect() for s in family.samples}


def write_report(*, name: str, started_at: dt.datetime) -> None:
    from operations.models import WebProcessReport

    now = timezone.now()
    values = {
        "beat_at": now,
        "delivery": DELIVERY.mode,
        "delivery_since": DELIVERY.since,
        "delivery_detail": DELIVERY.detail[:300],
        "streams": open_streams(),
    }
    if not WebProcessReport.objects.filter(pk=name).update(**values):
        WebProcessReport.objects.create(name=name, started_at=started_at, **values)
        WebProcessReport.objects.filter(beat_at__lt=now - REPORTS_KEPT).delete()  # once per process start


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
            write_report(name=name, started_at=started_at)
        finally:
            release_connection()


REPORTER = Reporter()
