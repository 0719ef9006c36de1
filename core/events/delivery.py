"""Delivery of committed events to this web process's open streams, sturdy against Redis outages.

The event table is the truth (core/events/publishing.py stores every event with a per-channel id, in the
transaction of its change); delivery only tells streams that there is something new. One supervisor
task per web process (`EventDelivery`):

- Embedded mode (no REDIS_URL): it polls the table (`EventRelay`) for rows any process stored.
- Redis mode: it subscribes to the pub/sub channel that publishers post to on commit, and sweeps the
  table every EVENTS_SWEEP_SECONDS for events Redis did not bring (a publish lost in a stall, or by a
  process that died between commit and publish). If the subscription breaks (Redis stopped,
  restarted, unreachable, or silent past the ping deadline), it logs the change once, polls the table
  as in embedded mode, and reconnects with backoff, forever. Each change of mode tells every open
  stream to catch up from the table from its own last id, and a stream that sees a gap in the ids it
  receives reads the missing ones from the table; so an outage of any length loses nothing and
  nothing arrives out of order (streams drop ids they have). A publisher that could not reach Redis
  adds a catch-up request to its next publish.

Why this and not PostgreSQL's LISTEN/NOTIFY: the table already makes delivery recoverable, so Redis
only has to be fast, not reliable; and one mechanism serves SQLite and PostgreSQL alike.
"""

import asyncio
import datetime as dt
import json
import logging
import time
from collections import deque

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from core.events import eventstream
from core.events.eventstream import Event, EventRow
from core.events.publishing import REDIS_PUBSUB_CHANNEL
from core.events.storage import release_connection
from core.metrics import EVENT_DELIVERY, EVENT_DELIVERY_DEGRADED, EVENT_DELIVERY_OUTAGES

log = logging.getLogger(__name__)

# A subscriber that has heard nothing from Redis (not even the answer to its ping) for this long
# counts the connection as dead: a Redis that hangs is found too, not only one that closes.
PING_EVERY_SECONDS = 5.0
SILENCE_LIMIT_SECONDS = 12.0
BACKOFF_SECONDS = (0.5, 1, 2, 5)


class EventRelay:
    """Hand events that any process stored in the table to this process's open streams.

    Ids within a channel follow commit order, but rows of different channels may commit out of id
    order on PostgreSQL, so each poll also looks back a little (rows created in the last LOOKBACK_SECONDS)
    and skips what it already delivered. The look-back is bounded by id too: a row created since a poll
    began has a larger id than any that poll saw (ids are handed out in time order), so each poll reads
    an index range of a few seconds of rows, not the table (measured: a sweep of a 95,000-row table took
    20 ms this way and 20 times over, while 1,000 events/s kept the look-back over one batch).
    """

    LOOKBACK_SECONDS = 2.0
    BATCH = 1000

    def __init__(self) -> None:
        self.last_pk: int | None = None
        self.delivered: dict[str, tuple[int, float]] = {}  # channel -> (last eid delivered, when)
        self.polls: deque[tuple[float, int]] = deque()  # (when a poll began, last_pk then), oldest first

    def seen(self, channel: str, event_id: int) -> None:
        """An event delivered another way (Redis): the next poll need not hand it out again."""
        if event_id > self.delivered.get(channel, (0, 0.0))[0]:
            self.delivered[channel] = (event_id, time.time())

    def poll(self) -> int:
        """Hand out new rows, in batches (ordered by id, each after the last) if that many arrived."""
        try:
            now = timezone.now()
            if self.last_pk is None:  # start from now: what is already stored, streams read themselves
                self._start(now)
                return 0
            floor = self._lookback_floor(now.timestamp())
            sent, after = 0, None
            for _ in range(20):
                batch_sent, rows, after = self._poll_batch(now, floor, after)
                sent += batch_sent
                if rows < self.BATCH:
                    break
            return sent
        finally:
            release_connection()

    def _start(self, now: dt.datetime) -> None:
        self.last_pk = EventRow.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        since = now - dt.timedelta(seconds=self.LOOKBACK_SECONDS)
        for channel, eid in EventRow.objects.filter(created__gte=since).values_list("channel", "eid"):
            self.delivered[channel] = (max(eid, self.delivered.get(channel, (0, 0))[0]), now.timestamp())

    def _lookback_floor(self, now: float) -> int:
        """The last id of the latest poll that began a look-back (and a margin for clocks) ago: every row
        created since has a larger id. 0 (no bound) until this relay is that old."""
        assert self.last_pk is not None
        cutoff = now - self.LOOKBACK_SECONDS - 1.0
        while len(self.polls) > 1 and self.polls[1][0] <= cutoff:
            self.polls.popleft()
        floor = self.polls[0][1] if self.polls and self.polls[0][0] <= cutoff else 0
        self.polls.append((now, self.last_pk))
        return floor

    def _poll_batch(self, now: dt.datetime, floor: int, after: int | None) -> tuple[int, int, int | None]:
        assert self.last_pk is not None
        recent = Q(pk__gt=self.last_pk)
        if connection.vendor != "sqlite":  # SQLite serialises writers: its id order is commit order
            recent |= Q(created__gte=now - dt.timedelta(seconds=self.LOOKBACK_SECONDS))
        rows = EventRow.objects.filter(recent, pk__gt=max(floor, after or 0), eid__gt=0).order_by("pk")
        batch = list(rows.values_list("pk", "channel", "type", "data", "eid")[: self.BATCH])
        moment, sent = now.timestamp(), 0
        for pk, channel, event_type, data, eid in batch:
            self.last_pk = max(self.last_pk, pk)
            if eid <= self.delivered.get(channel, (0, 0))[0]:
                continue
            self.delivered[channel] = (eid, moment)
            eventstream.queue(channel, Event(channel, event_type, data, id=eid))
            sent += 1
        if len(self.delivered) > 10_000:
            horizon = moment - 2 * self.LOOKBACK_SECONDS
            self.delivered = {c: v for c, v in self.delivered.items() if v[1] >= horizon}
        return sent, len(batch), (batch[-1][0] if batch else after)


def catch_up_all_streams() -> None:
    """Make every open stream of this process read what it missed from the table (in the event loop)."""
    for listener in eventstream.listeners():
        eventstream.wake(listener, read_the_table=True)


def is_degraded(mode: str) -> bool:
    """Whether a delivery mode is the fallback while Redis is down (also for the modes other processes report)."""
    return mode.startswith("table: ")


class EventDelivery:
    """The one delivery supervisor of this web process (see the module's docstring)."""

    def __init__(self) -> None:
        self.mode = "stopped"  # "starting", "redis", "table" (embedded), "table: redis down", "stopped"
        self.since = timezone.now()
        self.detail = ""
        self._task: asyncio.Task | None = None

    @property
    def degraded(self) -> bool:
        return is_degraded(self.mode)

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
        EVENT_DELIVERY_DEGRADED.set(1 if self.degraded else 0)
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
        # One relay for the process's life: what Redis delivers is recorded in it, so that its sweeps of
        # the table (every EVENTS_SWEEP_SECONDS while subscribed, every EVENTS_RELAY_POLL_SECONDS while
        # not) hand out only what Redis did not: events whose publication was lost or is late.
        relay, failures = EventRelay(), 0
        await self._poll_once(relay)  # its starting point: now
        while True:
            try:
                await self._listen(url, relay)  # returns only by raising
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of the subscription means: fall back
                failures = 1 if self.mode == "redis" else failures + 1  # quick first retry after a good run
                if not self.degraded:  # the change of mode, once per outage
                    EVENT_DELIVERY_OUTAGES.inc()
                    self._set_mode("table: redis down", f"{exc.__class__.__name__}: {str(exc)[:200]}")
                    catch_up_all_streams()  # whatever fell between the last message and now
            wait = BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS)) - 1]
            await self._poll_table(relay, until=asyncio.get_running_loop().time() + wait)

    async def _poll_once(self, relay: EventRelay) -> None:
        try:
            await sync_to_async(relay.poll, thread_sensitive=False)()
        except Exception:  # a database restart must not end delivery
            log.exception("event relay poll failed")

    async def _listen(self, url: str, relay: EventRelay) -> None:
        client = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_keepalive=True)
        pubsub = client.pubsub()
        try:
            await asyncio.wait_for(pubsub.subscribe(REDIS_PUBSUB_CHANNEL), timeout=5)
            self._set_mode("redis")
            catch_up_all_streams()  # subscribed: whatever was published before now is in the table
            loop = asyncio.get_running_loop()
            heard_at = pinged_at = swept_at = loop.time()
            while True:
                # asyncio.timeout, not wait_for: wait_for makes a task per call, and this runs once per
                # commit anywhere in the service, in every web process.
                async with asyncio.timeout(5):
                    message = await pubsub.get_message(timeout=0.5)
                now = loop.time()
                if message is not None:
                    heard_at = now
                    if message["type"] == "message":
                        self._deliver(relay, message["data"])
                if now - swept_at > settings.EVENTS_SWEEP_SECONDS:
                    swept_at = now
                    await self._poll_once(relay)
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
    def _deliver(relay: EventRelay, raw: bytes) -> None:
        """One publisher's message: the events of one commit, and whether it could not reach Redis for a
        while (then every stream catches up from the table). Also the one-event messages of the release
        before, which processes not yet restarted still send during a rolling deploy."""
        try:
            message = json.loads(raw)
            if message.get("catch_up"):
                catch_up_all_streams()
            if "pub_id" in message:  # the previous release's format: one event per message
                events = [(message["channel"], message["event_type"], message["data"], int(message["pub_id"]))]
            else:
                events = [(channel, kind, data, int(eid)) for channel, kind, data, eid in message.get("events", [])]
        except (ValueError, TypeError, KeyError, AttributeError):  # not an outage: the sweep finds its events
            log.warning("event delivery: a message it cannot read, skipped: %r", raw[:200])
            return
        for channel, event_type, data, event_id in events:
            relay.seen(channel, event_id)
            eventstream.queue(channel, Event(channel, event_type, data, id=event_id))

    async def _poll_table(self, relay: EventRelay, *, until: float | None) -> None:
        poll, loop = sync_to_async(relay.poll, thread_sensitive=False), asyncio.get_running_loop()
        while until is None or loop.time() < until:
            try:
                await poll()
            except Exception:
                log.exception("event relay poll failed")
            await asyncio.sleep(settings.EVENTS_RELAY_POLL_SECONDS)


DELIVERY = EventDelivery()
