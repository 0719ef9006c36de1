"""GET /health: 200 when the database answers and the timer loop and a worker have reported recently.

The timer loop beats on its own; the worker's beat is a task the timer loop enqueues, so it also
proves that the queue delivers work.
"""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_q.tasks import async_task

from seatbooking.models import Heartbeat


def beat(name: str) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})


def ask_worker_to_beat() -> None:
    async_task("seatbooking.health.beat", "worker", task_name="heartbeat", group="heartbeat", save=False)


@require_GET
def health(request):
    checks, down = {}, []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
        beats = dict(Heartbeat.objects.values_list("name", "beat_at"))
    except Exception as exc:  # noqa: BLE001 - any failure here means the database is down for us
        checks["database"] = f"down: {exc.__class__.__name__}: {str(exc).strip()[:200]}"
        down.append("database")
        beats = None
    if beats is not None:
        now = timezone.now()
        for name, limit in (("timers", settings.HEALTH_TIMERS_MAX_AGE_SECONDS),
                            ("worker", settings.HEALTH_WORKER_MAX_AGE_SECONDS)):
            at = beats.get(name)
            age = (now - at).total_seconds() if at else None
            if age is not None and age <= limit:
                checks[name] = f"ok: last report {age:.1f} s ago"
            else:
                checks[name] = ("down: never reported" if age is None
                                else f"down: last report {age:.0f} s ago (limit {limit:g} s)")
                down.append(name)
    body = {"status": "ok" if not down else "down", "down": down, "checks": checks}
    return JsonResponse(body, status=200 if not down else 503)
