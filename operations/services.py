"""State changes of the operations app (the developers' guide: services change state, selectors read)."""

import datetime as dt

from django.utils import timezone

from operations.models import WebProcessReport

REPORTS_KEPT = dt.timedelta(hours=1)


def write_report(
    *,
    name: str,
    started_at: dt.datetime,
    delivery: str,
    delivery_since: dt.datetime,
    delivery_detail: str,
    streams: dict[str, int],
) -> None:
    """A web process's report (operations/reporting.py): one UPDATE a beat, one INSERT per process start,
    which also deletes the rows of processes gone for REPORTS_KEPT."""
    now = timezone.now()
    values = {
        "beat_at": now,
        "delivery": delivery,
        "delivery_since": delivery_since,
        "delivery_detail": delivery_detail[:300],
        "streams": streams,
    }
    if not WebProcessReport.objects.filter(pk=name).update(**values):
        WebProcessReport.objects.create(name=name, started_at=started_at, **values)
        WebProcessReport.objects.filter(beat_at__lt=now - REPORTS_KEPT).delete()  # once per process start
