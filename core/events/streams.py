"""Reading: a text/event-stream per channel, for as long as the client stays.

A new stream first gets a snapshot of the current state, with the id of the channel's last event taken
*before* the snapshot was read, so nothing falls between the two. A reconnect with Last-Event-ID gets
exactly the events after that id, from the table. Then each event once, in id order: delivered ones
from this process's listener registry (core/events/delivery.py feeds it), and whatever is missing (a gap
in the ids, more than the listener queues, a change of delivery mode) from the table. When the web
process stops, every stream ends with a `server-stopping` event and a short `retry:`, so that clients
reconnect at once (to another process, or to this one restarted) and resume from their last id.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from core.api_errors import DATABASE_ERRORS, service_error_response
from core.database import drop_broken_connections, no_answer
from core.errors import DATABASE_RETRY_AFTER_SECONDS, DatabaseUnavailable
from core.events import eventstream
from core.events.delivery import DELIVERY
from core.events.storage import release_connection
from core.metrics import OPEN_STREAMS

# Padding first, as django-eventstream sends it, so that buffering proxies start passing the stream on.
OPENING = ":" + " " * 2048 + "\n\nevent: stream-open\ndata:\n\n"
# The last words of a stream whose process is stopping: reconnect in half a second, from the last id.
CLOSING = "retry: 500\nevent: server-stopping\ndata:\n\n"
KEEPALIVE = "event: keep-alive\ndata:\n\n"
CATCH_UP_BATCH = 100

Snapshot = Callable[[], tuple[str, Mapping[str, Any]]]
T = TypeVar("T")
_stopping = False


def close_streams() -> None:
    """End every open stream of this process (and any that opens from now on): the process is stopping.
    Call it in the event loop."""
    global _stopping
    _stopping = True
    DELIVERY.stop()
    for listener in eventstream.listeners():
        eventstream.wake(listener)


@cache
def reading_threads() -> ThreadPoolExecutor:
    """The threads every stream's reads share (STREAM_THREADS): however many streams open or catch up at
    once, they use that many of the connection pool, and no thread of their own."""
    return ThreadPoolExecutor(max_workers=settings.STREAM_THREADS, thread_name_prefix="stream-read")


async def read(function: Callable[..., T], *args: Any) -> T:
    """Run a stream's database read on the streams' reading threads, giving its connection back after. A connection
    that turns out broken (the pool handed out one that a database restart closed) is retried once, after
    the pool has dropped every broken one; a database that still fails (or does not answer: no retry, that
    would double the wait) raises DatabaseUnavailable, which the stream's view answers as 503."""

    def once() -> T:
        try:
            return function(*args)
        finally:
            release_connection()

    try:
        return await sync_to_async(once, thread_sensitive=False, executor=reading_threads())()
    except DATABASE_ERRORS as exc:
        if no_answer(exc):
            raise DatabaseUnavailable() from exc
        await sync_to_async(drop_broken_connections, thread_sensitive=False, executor=reading_threads())()
    try:
        return await sync_to_async(once, thread_sensitive=False, executor=reading_threads())()
    except DATABASE_ERRORS as exc:
        raise DatabaseUnavailable() from exc


def event_stream(view):
    """Marks an async view as an event stream: the web process sends it through the streams' door
    (core/web_process.py: the per-address cap and the stream threads)."""
    view.event_stream = True
    return view


async def stream_response(
    request: HttpRequest, *, channel: str, snapshot: Snapshot, unnamed: str = ""
) -> HttpResponseBase:
    """A text/event-stream of `channel`: the snapshot first (unless resuming), then every event. Events of
    type `unnamed` go out without an `event:` line, so that EventSource's `onmessage` receives them."""
    stream = EventStream(channel, snapshot, unnamed)
    try:
        first = await read(stream.open, request)
    except DatabaseUnavailable as exc:
        return service_error_response(exc)
    except (eventstream.BadStreamRequest, ValueError) as exc:
        return JsonResponse(
            {
                "error": f"Bad stream request: {exc}. Last-Event-ID must be an id this stream sent.",
                "code": "bad_stream_request",
            },
            status=400,
        )
    DELIVERY.ensure_started()
    response = StreamingHttpResponse(stream.body(first), content_type="text/event-stream")
    return eventstream.with_stream_headers(response, request)


class EventStream:
    """One client's stream of one channel; `last_id` is the last event id written to it."""

    def __init__(self, channel: str, snapshot: Snapshot, unnamed: str = "") -> None:
        self.channel, self.snapshot, self.unnamed, self.last_id = channel, snapshot, unnamed, 0

    def _encode(self, event_type: str, data: str, event_id: int) -> str:
        return eventstream.encode(self.channel, event_type, data, event_id, unnamed=event_type == self.unnamed)

    def open(self, request: HttpRequest) -> str:
        """Where the client starts: after its Last-Event-ID, or at a fresh snapshot (returned as text)."""
        close_old_connections()
        last_ids = eventstream.last_ids(request, self.channel)
        if self.channel in last_ids:
            self.last_id = int(last_ids[self.channel])
            return ""
        return self._snapshot()

    def _snapshot(self) -> str:
        current = eventstream.get_storage().get_current_id(self.channel)  # first: nothing falls in between
        event_type, payload = self.snapshot()
        self.last_id = current
        return self._encode(event_type, json.dumps(payload, separators=(",", ":")), current)

    def catch_up(self) -> str:
        """Events after `last_id` from the table; a fresh snapshot if they are no longer kept."""
        storage, out = eventstream.get_storage(), []
        try:
            while True:
                try:
                    events = storage.get_events(self.channel, self.last_id, limit=CATCH_UP_BATCH)
                except eventstream.EventDoesNotExist:
                    return self._snapshot()
                for event in events:
                    out.append(self._encode(event.type, event.data, event.id))
                    self.last_id = event.id
                if len(events) < CATCH_UP_BATCH:
                    return "".join(out)
        finally:
            release_connection()

    def deliver(self, events: list[eventstream.Event]) -> tuple[str, bool]:
        """The events that follow `last_id` without a hole, as text; True if one is missing (a publish
        came out of order, or never: its process died between commit and publish). Ids of committed
        events have no holes, so the table has the missing one."""
        parts: list[str] = []
        for event in sorted(events, key=lambda e: int(e.id)):
            event_id = int(event.id)
            if event_id <= self.last_id:  # catch-up already sent it
                continue
            if event_id > self.last_id + 1:
                return "".join(parts), True
            self.last_id = event_id
            parts.append(self._encode(event.type, event.data, event_id))
        return "".join(parts), False

    async def body(self, first: str) -> AsyncIterator[str]:
        listener = eventstream.listen(self.channel)  # from here on, new events queue up on the listener
        open_streams = OPEN_STREAMS.labels(self.channel.split("-", 1)[0])
        open_streams.inc()
        keepalive = KeepAlive(listener)
        try:
            try:
                yield first + OPENING + await read(self.catch_up)
            except DatabaseUnavailable:
                yield f"retry: {DATABASE_RETRY_AFTER_SECONDS * 1000}\n\n"  # reconnect (and resume) later
                return
            while not _stopping:
                await listener.aevent.wait()
                if _stopping:
                    break
                events, overflow = eventstream.take(listener, self.channel)
                if keepalive.due(events or overflow):
                    yield KEEPALIVE
                    continue
                chunk, missing = ("", True) if overflow else self.deliver(events)
                if missing:
                    try:
                        chunk += await read(self.catch_up)
                    except DatabaseUnavailable:  # end the stream: the client resumes from its last id
                        yield chunk + f"retry: {DATABASE_RETRY_AFTER_SECONDS * 1000}\n\n"
                        return
                if chunk:
                    yield chunk
            yield CLOSING
        finally:
            keepalive.cancel()
            open_streams.dec()
            eventstream.stop_listening(listener)


class KeepAlive:
    """Wakes an idle stream every EVENTS_KEEPALIVE_SECONDS: one timer per stream, re-armed only when it
    fires, which is cheaper than a timeout on every wait."""

    def __init__(self, listener: eventstream.Listener) -> None:
        self.listener, self.pending = listener, False
        self.loop = asyncio.get_running_loop()
        self.timer = self.loop.call_later(settings.EVENTS_KEEPALIVE_SECONDS, self._fire)

    def _fire(self) -> None:
        self.pending = True
        eventstream.wake(self.listener)
        self.timer = self.loop.call_later(settings.EVENTS_KEEPALIVE_SECONDS, self._fire)

    def due(self, activity: object) -> bool:
        """True when this wake-up is the timer's alone (nothing arrived): send a keep-alive."""
        if self.pending and not activity:
            self.pending = False
            return True
        return False

    def cancel(self) -> None:
        self.timer.cancel()
