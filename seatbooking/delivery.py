"""Delivery of committed events to this web process's open streams, sturdy against Redis outages.

The event table is the truth (seatbooking/eventbus.py stores every event with a per-channel id, in the
transaction of its change); delivery only tells streams that there is something new. One supervisor
task per web process (`EventDelivery`):

- Embedded mode (no REDIS_URL): it polls the table (`EventRelay`) for rows any process stored.
- Redis mode: it subscribes to the pub/sub channel that publishers post to on commit. If the
  subscription breaks (Redis stopped, restarted, unreachable, or silent past the ping deadline), it
  logs the change once, falls back to polling the table, and reconnects with backoff, forever. Every
  change of mode tells every open stream to catch up from the table from its own last id, so an
  outage of any length loses nothing and nothing arrives out of order (streams drop ids they have).
  A publisher that could not reach Redis posts a catch-up request once Redis answers again, for
  subscribers whose own connection never noticed.

Why this and not PostgreSQL's LISTEN/NOTIFY: the table already makes delivery recoverable, so Redis
only has to be fast, not reliable; and one mechanism serves SQLite and PostgreSQL alike.
"""

import asyncio
import datetime as dt
import json
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django_eventstream import models as es_models
from django_eventstream.event import Event
from django_eventstream.views import get_listener_manager

from seatbooking.metrics import EVENT_DELIVERY, EVENT_DELIVERY_OUTAGES

log = logging.getLogger(__name__)

# Publishers post to this Redis pub/sub channel; every web process subscribes.
REDIS_PUBSUB_CHANNEL = "events_channel"
# A subscriber that has heard nothing from Redis (not even the answer to its ping) for this long
# counts the connection as dead: a Redis that hangs is found too, not only one that closes.
PING_EVERY_SECONDS = 5.0
SILENCE_LIMIT_SECONDS = 12.0
BACKOFF_SECONDS = (0.5, 1, 2, 5)


def release_connection() -> None:
    """Streams read storage from worker threads; give their connection back after each read."""
    if not connection.in_atomic_block:
        connection.close()


class EventRelay:
    """Hand events that any process stored in the table to this process's open streams.

    Ids within a channel follow commit order, but rows of different channels may commit out of id
    order on PostgreSQL, so each poll also looks back a little and skips what it already delivered.
    """

    LOOKBACK_SECONDS = 2.0

    def __init__(self) -> None:
        self.last_pk: int | None = None
        self.delivered: dict[str, tuple[int, float]] = {}  # channel -> (last eid delivered, when)

    def poll(self) -> int:
        try:
            now = timezone.now()
            if self.last_pk is None:  # start from now: what is already stored, streams read themselves
                self.last_pk = es_models.Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
                since = now - dt.timedelta(seconds=self.LOOKBACK_SECONDS)
                for channel, eid in es_models.Event.objects.filter(created__gte=since).values_list("channel", "eid"):
                    self.delivered[channel] = (max(eid, self.delivered.get(channel, (0, 0))[0]), now.timestamp())
                return 0
            recent = Q(pk__gt=self.last_pk)
            if connection.vendor != "sqlite":  # SQLite serialises writers: its id order is commit order
                recent |= Q(created__gte=now - dt.timedelta(seconds=self.LOOKBACK_SECONDS))
            rows = list(
                es_models.Event.objects.filter(recent, eid__gt=0)
                .order_by("pk")
                .values_list("pk", "channel", "type", "data", "eid")[:1000]
            )
        finally:
            release_connection()
        manager, moment, sent = get_listener_manager(), now.timestamp(), 0
        for pk, channel, event_type, data, eid in rows:
            self.last_pk = max(self.last_pk, pk)
            if eid <= self.delivered.get(channel, (0, 0))[0]:
                continue
            self.delivered[channel] = (eid, moment)
            manager.add_to_queues(channel, Event(channel, event_type, data, id=eid))
            sent += 1
        if len(self.delivered) > 10_000:
            horizon = moment - 2 * self.LOOKBACK_SECONDS
            self.delivered = {c: v for c, v in self.delivered.items() if v[1] >= horizon}
        return sent


def catch_up_all_streams() -> None:
    """Make every open stream of this process read what it missed from the table (in the event loop)."""
    manager = get_listener_manager()
    with manager.lock:
        listeners = {listener for group in manager.listeners_by_channel.values() for listener in group}
        for listener in listeners:
            listener.overflow = True  # the streams' signal to read from the table
    for listener in listeners:
        listener.aevent.set()


class EventDelivery:
    """The one delivery supervisor of this web process (see the module's docstring)."""

    def __init__(self) -> None:
        self.mode = "stopped"  # "starting", "redis", "table" (embedded), "table: redis down", "stopped"
        self.since = timezone.now()
        self.detail = ""
        self._task: asyncio.Task | None = None

    @property
    def degraded(self) -> bool:
        return self.mode.startswith("table: ")

    def ensure_started(self) -> None:
        """Start the supervisor in the running event loop, once per process (again if it ever ended)."""
        if self._task is None or self._task.done():
            self._set_mode("starting")
            self._task = asyncio.get_running_loop().create_task(self._run(), name="event-delivery")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._set_mode("stopped")

    def _set_mode(self, mode: str, detail: str = "") -> None:
        if mode == self.mode:
            return
        previous, self.mode, self.since, self.detail = self.mode, mode, timezone.now(), detail
        for name in ("redis", "table"):
            EVENT_DELIVERY.labels(name).set(1 if mode.startswith(name) else 0)
        level = logging.WARNING if self.degraded else logging.INFO
        log.log(
            level,
            "event delivery: %s -> %s%s",
            previous,
            mode,
            f" ({detail})" if detail else "",
            extra={"delivery_mode": mode},
        )

    async def _run(self) -> None:
        if settings.REDIS_URL:
            await self._supervise_redis(settings.REDIS_URL)
        else:
            self._set_mode("table")
            await self._poll_table(EventRelay(), until=None)

    async def _supervise_redis(self, url: str) -> None:
        failures = 0
        while True:
            try:
                await self._listen(url)  # returns only by raising
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of the subscription means: fall back
                failures = 1 if self.mode == "redis" else failures + 1  # quick first retry after a good run
                if not self.degraded:
                    EVENT_DELIVERY_OUTAGES.inc()
                self._set_mode("table: redis down", f"{exc.__class__.__name__}: {str(exc)[:200]}")
            relay = EventRelay()
            try:
                await sync_to_async(relay.poll, thread_sensitive=False)()  # its starting point: now
            except Exception:
                log.exception("event relay poll failed")
            catch_up_all_streams()  # everything before that point, from each stream's own last id
            wait = BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS)) - 1]
            await self._poll_table(relay, until=asyncio.get_running_loop().time() + wait)

    async def _listen(self, url: str) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_keepalive=True)
        pubsub = client.pubsub()
        try:
            await asyncio.wait_for(pubsub.subscribe(REDIS_PUBSUB_CHANNEL), timeout=5)
            self._set_mode("redis")
            catch_up_all_streams()  # subscribed: whatever was published before now is in the table
            manager, loop = get_listener_manager(), asyncio.get_running_loop()
            heard_at = pinged_at = loop.time()
            while True:
                message = await asyncio.wait_for(pubsub.get_message(timeout=1.0), timeout=5)
                now = loop.time()
                if message is not None:
                    heard_at = now
                    if message["type"] == "message":
                        self._deliver(manager, message["data"])
                if now - heard_at > SILENCE_LIMIT_SECONDS:
                    raise TimeoutError(f"no answer from Redis for {SILENCE_LIMIT_SECONDS:g} s")
                if now - pinged_at > PING_EVERY_SECONDS:
                    pinged_at = now
                    await asyncio.wait_for(pubsub.ping(), timeout=5)
        finally:
            try:
                await asyncio.wait_for(pubsub.aclose(), timeout=1)
                await asyncio.wait_for(client.aclose(), timeout=1)
            except Exception:  # noqa: BLE001, S110 - closing a broken connection may fail too
                pass

    @staticmethod
    def _deliver(manager, raw: bytes) -> None:
        message = json.loads(raw)
        if message.get("catch_up"):  # a publisher could not reach Redis for a while
            catch_up_all_streams()
            return
        channel = message["channel"]
        manager.add_to_queues(
            channel, Event(channel, message["event_type"], message["data"], id=int(message["pub_id"]))
        )

    async def _poll_table(self, relay: EventRelay, *, until: float | None) -> None:
        poll, loop = sync_to_async(relay.poll, thread_sensitive=False), asyncio.get_running_loop()
        while until is None or loop.time() < until:
            try:
                await poll()
            except Exception:
                log.exception("event relay poll failed")
            await asyncio.sleep(settings.EVENTS_RELAY_POLL_SECONDS)


DELIVERY = EventDelivery()
