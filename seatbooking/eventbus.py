"""Live events over Server-Sent Events, on django-eventstream.

Publishing (see `publish`): an event is stored in the same transaction as the change that caused it
(django-eventstream's Event table, with a per-channel id), so it exists exactly when the change does and,
per channel, ids follow commit order. Delivery to open streams starts only after the commit:

- Redis mode (REDIS_URL set): on commit the event is published on Redis, and every web process's
  delivery task hands it to its streams. For several web processes, and PostgreSQL. Redis may go away
  at any moment: see seatbooking/delivery.py for how nothing is lost then.
- Embedded mode (no Redis): every web process polls the Event table and hands new rows to its
  streams, whichever process stored them (web, django-q2 worker, timer loop).

Reading (see `stream_response`): a new stream first gets a snapshot of the current state, with the
id of the channel's last event taken *before* the snapshot was read, so nothing falls between the two.
A reconnect with Last-Event-ID gets exactly the events after that id, from the table. Storage reads
close their database connection, so an open stream holds none. When the web process stops, every
stream ends with a `server-stopping` event and a short `retry:`, so that clients reconnect at once
(to another process, or to this one restarted) and resume from their last id.
"""

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.http import StreamingHttpResponse
from django.utils import timezone
from django_eventstream import models as es_models
from django_eventstream.event import Event
from django_eventstream.eventrequest import EventRequest
from django_eventstream.storage import EventDoesNotExist, StorageBase
from django_eventstream.utils import add_default_headers, get_storage, make_id, sse_encode_event
from django_eventstream.views import Listener, get_listener_manager

from seatbooking.delivery import DELIVERY, REDIS_PUBSUB_CHANNEL, release_connection
from seatbooking.metrics import OPEN_STREAMS
from seatbooking.redis_state import SOCKET_TIMEOUT_SECONDS, breaker, is_redis_error


def publish(channel: str, event_type: str, payload: Mapping[str, Any]) -> None:
    """Store an event with the current transaction; deliver it once that commits (never if it rolls back)."""
    publish_many([(channel, event_type, payload)])


def publish_many(events: Sequence[tuple[str, str, Mapping[str, Any]]]) -> None:
    """`publish` for many events at once (a batch of expiries): one statement on PostgreSQL, however many."""
    assert connection.in_atomic_block, "publish inside the transaction of the change it reports"
    stored = get_storage().append_events(
        [(channel, event_type, json.dumps(payload, separators=(",", ":"))) for channel, event_type, payload in events]
    )
    if settings.REDIS_URL:
        messages = [
            json.dumps({"channel": e.channel, "event_type": e.type, "data": e.data, "pub_id": str(e.id)})
            for e in stored
        ]
        transaction.on_commit(lambda: _publish_on_redis(messages))


_publisher_breaker = breaker("event publishing")


def _publish_on_redis(messages: list[str]) -> None:
    """Tell the web processes, through Redis, of events just committed. Without Redis they are not lost:
    the subscribers poll the table meanwhile, and everything is in the table for the catch-up."""
    if not _publisher_breaker.allows():
        return
    try:
        pipeline = _redis(settings.REDIS_URL).pipeline(transaction=False)  # one round trip for the lot
        if _publisher_breaker.down_since is not None:  # subscribers that did not notice the outage catch up
            pipeline.publish(REDIS_PUBSUB_CHANNEL, json.dumps({"catch_up": True}))
        for message in messages:
            pipeline.publish(REDIS_PUBSUB_CHANNEL, message)
        pipeline.execute()
    except Exception as exc:  # the change is committed whatever Redis says
        if not is_redis_error(exc):
            raise
        _publisher_breaker.failed(exc)
    else:
        _publisher_breaker.succeeded()


@lru_cache(maxsize=4)
def _redis(url: str):
    import redis

    return redis.Redis.from_url(
        url, socket_timeout=SOCKET_TIMEOUT_SECONDS, socket_connect_timeout=SOCKET_TIMEOUT_SECONDS
    )


class EventStorage(StorageBase):
    """django-eventstream storage on its own Event/EventCounter tables: on PostgreSQL one statement for
    any number of events, elsewhere two per event.

    `data` is stored as the JSON text that goes on the wire.
    """

    def append_event(self, channel: str, event_type: str, data: str) -> Event:
        return self.append_events([(channel, event_type, data)])[0]

    def append_events(self, events: Sequence[tuple[str, str, str]]) -> list[Event]:
        """Store (channel, type, data) events; per channel, ids follow the given order and commit order."""
        if not events:
            return []
        ids = self._append_postgresql(events) if connection.vendor == "postgresql" else {}
        missing = [event for event in events if event[0] not in ids]  # SQLite: all; PostgreSQL: new channels
        if missing:
            counts: dict[str, int] = {}
            for channel, _type, _data in missing:
                counts[channel] = counts.get(channel, 0) + 1
            for channel in sorted(counts):  # counters in name order, as above: batches cannot deadlock
                ids[channel] = [self._next_id(channel) for _ in range(counts[channel])]
            es_models.Event.objects.bulk_create(
                [
                    es_models.Event(channel=channel, type=event_type, data=data, eid=eid)
                    for (channel, event_type, data), eid in zip(missing, self._ids_for(missing, ids), strict=True)
                ]
            )
        return [
            Event(channel, event_type, data, id=eid)
            for (channel, event_type, data), eid in zip(events, self._ids_for(events, ids), strict=True)
        ]

    @staticmethod
    def _ids_for(events, ids: dict[str, list[int]]) -> list[int]:
        """Hand each channel's ids (ascending) to its events in order."""
        queues = {channel: sorted(values, reverse=True) for channel, values in ids.items()}
        return [queues[channel].pop() for channel, _type, _data in events]

    def _append_postgresql(self, events: Sequence[tuple[str, str, str]]) -> dict[str, list[int]]:
        """Bump the counters (locked in name order, so that batches cannot deadlock) and insert the events,
        in one statement. Channels without a counter row yet are left out."""
        counter, event = es_models.EventCounter._meta.db_table, es_models.Event._meta.db_table
        channels, types, data = (list(column) for column in zip(*events, strict=True))
        now = timezone.now()
        sql = f"""
            WITH wanted AS (SELECT name, count(*) AS n FROM unnest(%s::text[]) AS name GROUP BY name),
            locked AS (SELECT name FROM {counter} WHERE name IN (SELECT name FROM wanted) ORDER BY name FOR UPDATE),
            bumped AS (
                UPDATE {counter} AS c SET value = c.value + w.n, updated = %s FROM wanted AS w
                WHERE c.name = w.name AND c.name IN (SELECT name FROM locked)
                RETURNING c.name, c.value - w.n AS before
            )
            INSERT INTO {event} (channel, type, data, eid, created)
            SELECT e.channel, e.type, e.data, b.before + row_number() OVER (PARTITION BY e.channel ORDER BY e.ord), %s
            FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS e(channel, type, data, ord)
            JOIN bumped AS b ON b.name = e.channel
            RETURNING channel, eid"""  # noqa: S608 - only table names are formatted in
        with connection.cursor() as cursor:
            cursor.execute(sql, [channels, now, now, channels, types, data])
            ids: dict[str, list[int]] = {}
            for channel, eid in cursor.fetchall():
                ids.setdefault(channel, []).append(eid)
        return ids

    def _next_id(self, channel: str) -> int:
        # The counter row stays locked until the change commits: per channel, ids follow commit order.
        sql = f"UPDATE {es_models.EventCounter._meta.db_table} SET value = value + 1, updated = %s WHERE name = %s RETURNING value"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, [timezone.now(), channel])
            row = cursor.fetchone()
            if row is None:
                _counter, created = es_models.EventCounter.objects.get_or_create(name=channel)
                if created:  # id 0 is where a stream starts that has seen no event yet
                    es_models.Event.objects.bulk_create([es_models.Event(channel=channel, type="", data="", eid=0)])
                cursor.execute(sql, [timezone.now(), channel])
                row = cursor.fetchone()
        return row[0]

    def get_events(self, channel: str, last_id: int, limit: int = 100) -> list[Event]:
        try:
            rows = list(
                es_models.Event.objects.filter(channel=channel, eid__gte=last_id)
                .order_by("eid")
                .values_list("eid", "type", "data")[: limit + 1]
            )
            if not rows:
                if last_id == 0:
                    return []
                raise EventDoesNotExist(f"No such event {last_id}", self.get_current_id(channel))
            if rows[0][0] != last_id:
                if last_id == 0:  # events exist but the placeholder is gone; start from the first kept
                    return [Event(channel, t, d, id=e) for e, t, d in rows[:limit]]
                raise EventDoesNotExist(f"No such event {last_id}", self.get_current_id(channel))
            return [Event(channel, t, d, id=e) for e, t, d in rows[1:]]
        finally:
            release_connection()

    def get_current_id(self, channel: str) -> int:
        try:
            value = es_models.EventCounter.objects.filter(name=channel).values_list("value", flat=True).first()
            return value or 0
        finally:
            release_connection()


def trim_events(*, older_than: dt.timedelta) -> int:
    """Forget events older than `older_than`: a stream that far behind starts over from a snapshot."""
    deleted, _ = es_models.Event.objects.filter(created__lt=timezone.now() - older_than, eid__gt=0).delete()
    return deleted


# Padding first, as django-eventstream sends it, so that buffering proxies start passing the stream on.
OPENING = ":" + " " * 2048 + "\n\nevent: stream-open\ndata:\n\n"
# The last words of a stream whose process is stopping: reconnect in half a second, from the last id.
CLOSING = "retry: 500\nevent: server-stopping\ndata:\n\n"
_stopping = False


def close_streams() -> None:
    """End every open stream of this process (and any that opens from now on): the process is stopping.
    Call it in the event loop."""
    global _stopping
    _stopping = True
    DELIVERY.stop()
    manager = get_listener_manager()
    with manager.lock:
        listeners = {listener for group in manager.listeners_by_channel.values() for listener in group}
    for listener in listeners:
        listener.aevent.set()


def _encode(channel: str, event_type: str, data: str, event_id: int) -> str:
    return sse_encode_event(event_type, data, event_id=make_id({channel: event_id}))


async def stream_response(request, *, channel: str, snapshot: Callable[[], tuple[str, Mapping[str, Any]]]):
    """A text/event-stream of `channel`: the snapshot first (unless resuming), then every event.

    The stream registers with django-eventstream's listener manager (which the Redis listener and the
    embedded relay feed) and writes each event once, in id order; it reads the table only to catch up.
    """

    def open_stream() -> tuple[int, str]:
        close_old_connections()
        try:
            last_ids = EventRequest(request, view_kwargs={"channel": channel}).channel_last_ids
            if channel in last_ids:
                return int(last_ids[channel]), ""
            return _snapshot()
        finally:
            release_connection()

    def _snapshot() -> tuple[int, str]:
        current = get_storage().get_current_id(channel)  # before the snapshot: nothing falls in between
        event_type, payload = snapshot()
        return current, _encode(channel, event_type, json.dumps(payload, separators=(",", ":")), current)

    def catch_up(last_id: int) -> tuple[int, str]:
        """Events after `last_id` from the table; a fresh snapshot if they are no longer kept."""
        storage, out = get_storage(), []
        try:
            while True:
                try:
                    events = storage.get_events(channel, last_id, limit=100)
                except EventDoesNotExist:
                    return _snapshot()
                for event in events:
                    out.append(_encode(channel, event.type, event.data, event.id))
                    last_id = event.id
                if len(events) < 100:
                    return last_id, "".join(out)
        finally:
            release_connection()

    try:
        last_id, first = await sync_to_async(open_stream)()
    except (EventRequest.Error, ValueError) as exc:
        from django.http import JsonResponse

        return JsonResponse(
            {
                "error": f"Bad stream request: {exc}. Last-Event-ID must be an id this stream sent.",
                "code": "bad_stream_request",
            },
            status=400,
        )
    DELIVERY.ensure_started()

    async def body():
        nonlocal last_id
        manager = get_listener_manager()
        listener = Listener()
        listener.channels, listener.user_id = {channel}, "anonymous"
        listener.assign_loop()
        manager.add_listener(listener)  # from here on, new events queue up on the listener
        open_streams = OPEN_STREAMS.labels(channel.split("-", 1)[0])
        open_streams.inc()
        loop = asyncio.get_running_loop()
        keepalive_due = False
        timer: asyncio.TimerHandle

        def keepalive():  # one timer per stream, re-armed only when it fires: cheaper than a timeout per wait
            nonlocal keepalive_due, timer
            keepalive_due = True
            listener.aevent.set()
            timer = loop.call_later(settings.EVENTS_KEEPALIVE_SECONDS, keepalive)

        timer = loop.call_later(settings.EVENTS_KEEPALIVE_SECONDS, keepalive)
        try:
            last_id, missed = await sync_to_async(catch_up)(last_id)
            yield first + OPENING + missed
            while not _stopping:
                await listener.aevent.wait()
                if _stopping:
                    break
                with manager.lock:
                    items = listener.channel_items.pop(channel, [])
                    overflow, listener.overflow = listener.overflow, False
                    listener.aevent.clear()
                if keepalive_due and not items and not overflow:
                    keepalive_due = False
                    yield "event: keep-alive\ndata:\n\n"
                    continue
                if overflow:  # more arrived than the listener queues: read them from the table
                    last_id, chunk = await sync_to_async(catch_up)(last_id)
                else:
                    parts: list[str] = []
                    gap = False
                    for event in sorted(items, key=lambda e: int(e.id)):
                        event_id = int(event.id)
                        if event_id <= last_id:  # catch-up already sent it
                            continue
                        if event_id > last_id + 1:
                            # One is missing: published out of order (processes publish after their own
                            # commits) or never (its process died between commit and publish). Ids of
                            # committed events have no holes, so the table has it: read from there.
                            gap = True
                            break
                        last_id = event_id
                        parts.append(_encode(channel, event.type, event.data, last_id))
                    if gap:
                        last_id, missed = await sync_to_async(catch_up)(last_id)
                        parts.append(missed)
                    chunk = "".join(parts)
                if chunk:
                    yield chunk
            yield CLOSING
        finally:
            timer.cancel()
            open_streams.dec()
            manager.remove_listener(listener)

    response = StreamingHttpResponse(body(), content_type="text/event-stream")
    add_default_headers(response, request=request)
    return response
