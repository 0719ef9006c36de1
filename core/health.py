"""GET /health: 200 when the database answers and the timer loop and a worker have reported recently.

The timer loop beats on its own; the worker's beat is a task the timer loop enqueues, so it also
proves that the queue delivers work.

Redis is not needed to book (core/redis_state.py), so without it the answer is still 200, with
`"status": "degraded"` and what is degraded named in `degraded`: "redis" (throttles per process,
published events wait for the table poll) and "event delivery" (this web process polls the event
table until its Redis subscription is back). A load balancer keeps a degraded process in rotation:
every process is degraded alike in an outage, and each still books and streams. 503 is for "down":
the database, the timer loop or the workers, without which bookings do not complete.
"""

import asyncio
import datetime as dt
import time

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from core import redis_state
from core.events.delivery import DELIVERY
from core.events.storage import release_connection
from core.models import Heartbeat
from core.worker import enqueue


def beat(name: str) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})


def ask_worker_to_beat() -> None:
    enqueue("core.health.beat", "worker", task_name="heartbeat", group="heartbeat", save=False)


# /health answers within this long whatever the database and Redis do: a load balancer's probe must not hang
# (its bound is 2 s). The two checks run at once, under this one deadline.
DATABASE_CHECK_SECONDS = 1.5


def read_beats() -> dict[str, dt.datetime]:
    try:
        return dict(Heartbeat.objects.values_list("name", "beat_at"))  # a query: the database answers
    finally:
        release_connection()


class DatabaseProbe:
    """The database check of /health, in a thread of its own, awaited for at most DATABASE_CHECK_SECONDS.

    In the uvicorn web process (core/web_process.py) /health, an async view, runs in the event loop: it
    takes no request slot (core/admission.py) and answers while every request thread waits on a database
    that hangs; at most one check runs at a time, and callers meanwhile share it, so probes of a hung
    database do not pile up threads and connections. Under granian's WSGI workers (deploy/granian.py)
    Django runs the view in a loop of its own per request, in a worker thread: /health takes a thread like
    any request, and each request runs its own check (they share nothing); the deadline holds alike."""

    def __init__(self) -> None:
        self.running: asyncio.Future | None = None

    async def beats(self) -> dict[str, dt.datetime]:
        loop = asyncio.get_running_loop()  # one for the process under ASGI; one per request under WSGI
        if self.running is None or self.running.done() or self.running.get_loop() is not loop:
            self.running = asyncio.ensure_future(sync_to_async(read_beats, thread_sensitive=False)())
        return await asyncio.wait_for(asyncio.shield(self.running), DATABASE_CHECK_SECONDS)


PROBE = DatabaseProbe()


@require_safe
async def health(request):
    deadline = time.monotonic() + DATABASE_CHECK_SECONDS
    # Redis's ping (up to 1 s) runs while the database is asked (up to 1.5 s), not after it.
    redis_ping = (
        asyncio.ensure_future(sync_to_async(ping_redis, thread_sensitive=False)()) if settings.REDIS_URL else None
    )
    checks, down = {}, []
    try:
        beats = await PROBE.beats()
        checks["database"] = "ok"
    except TimeoutError:
        checks["database"] = f"down: no answer within {DATABASE_CHECK_SECONDS:g} s"
        down.append("database")
        beats = None
    except Exception as exc:  # noqa: BLE001 - any failure here means the database is down for us
        checks["database"] = f"down: {exc.__class__.__name__}: {str(exc).strip()[:200]}"
        down.append("database")
        beats = None
    if beats is not None:
        now = timezone.now()
        for name, limit in (
            ("timers", settings.HEALTH_TIMERS_MAX_AGE_SECONDS),
            ("worker", settings.HEALTH_WORKER_MAX_AGE_SECONDS),
        ):
            at = beats.get(name)
            age = (now - at).total_seconds() if at else None
            if age is not None and age <= limit:
                checks[name] = f"ok: last report {age:.1f} s ago"
            else:
                checks[name] = (
                    "down: never reported" if age is None else f"down: last report {age:.0f} s ago (limit {limit:g} s)"
                )
                down.append(name)
    degraded = _degraded(checks, await _answered(redis_ping, deadline))
    body = {
        "status": "down" if down else "degraded" if degraded else "ok",
        "down": down,
        "degraded": degraded,
        "checks": checks,
    }
    return JsonResponse(body, status=200 if not down else 503)


async def _answered(ping: asyncio.Future | None, deadline: float) -> bool:
    """Whether Redis answered its ping by the deadline (False without Redis: not asked)."""
    if ping is None:
        return False
    try:
        return await asyncio.wait_for(ping, max(0.0, deadline - time.monotonic()))
    except TimeoutError:
        return False


def _degraded(checks: dict[str, str], redis_answered: bool) -> list[str]:
    if not settings.REDIS_URL:
        return []
    degraded = []
    if redis_answered:
        checks["redis"] = "ok"
    else:
        why = "; ".join(f"{user}: {state}" for user, state in redis_state.degraded().items())
        checks["redis"] = f"degraded: no answer{f' ({why})' if why else ''}; running without it"
        degraded.append("redis")
    if DELIVERY.degraded:
        checks["event delivery"] = (
            f"degraded: {DELIVERY.mode} since {DELIVERY.since:%H:%M:%S} UTC "
            f"({DELIVERY.detail}); streams are fed from the event table"
        )
        degraded.append("event delivery")
    else:
        checks["event delivery"] = f"ok: {DELIVERY.mode}"
    return degraded


def ping_redis() -> bool:
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=redis_state.SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=redis_state.SOCKET_TIMEOUT_SECONDS,
        )
        with client:
            return bool(client.ping())
    except Exception:  # noqa: BLE001 - any failure means no answer
        return False
