"""django-eventstream, as this service uses it, behind one small surface: its event tables, its event
type, its per-process registry of listeners, its request parsing and its SSE encoding.

No other module imports django_eventstream: what it does not document (the listener manager's lock,
a listener's queues and flags) is touched only here.
"""

from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django_eventstream import models as _models
from django_eventstream.event import Event
from django_eventstream.eventrequest import EventRequest
from django_eventstream.storage import EventDoesNotExist, StorageBase
from django_eventstream.utils import add_default_headers, get_storage, make_id, sse_encode_event
from django_eventstream.views import Listener, get_listener_manager

EventRow = _models.Event  # one stored event: channel, type, data, per-channel id (eid), created
EventCounter = _models.EventCounter  # a channel's last id
BadStreamRequest = EventRequest.Error

__all__ = [
    "BadStreamRequest",
    "Event",
    "EventCounter",
    "EventDoesNotExist",
    "EventRow",
    "Listener",
    "StorageBase",
    "encode",
    "get_storage",
    "last_ids",
    "listen",
    "listeners",
    "queue",
    "stop_listening",
    "take",
    "wake",
    "with_stream_headers",
]


def encode(channel: str, event_type: str, data: str, event_id: int, *, unnamed: bool = False) -> str:
    """One event in SSE form, its id naming the channel (what Last-Event-ID sends back). `unnamed`: without
    its `event:` line (SSE's default type, "message"), as EventSource's `onmessage` receives it."""
    text: str = sse_encode_event(event_type, data, event_id=make_id({channel: event_id}))
    return text.split("\n", 1)[1] if unnamed else text  # the first line is always `event: <type>`


def last_ids(request: HttpRequest, channel: str) -> dict[str, Any]:
    """The ids a reconnecting client says it has (Last-Event-ID header or ?lastEventId=)."""
    ids: dict[str, Any] = EventRequest(request, view_kwargs={"channel": channel}).channel_last_ids
    return ids


def listen(channel: str) -> Listener:
    """A listener of this event loop on `channel`: from now on, new events queue up on it."""
    listener = Listener()
    listener.channels, listener.user_id = {channel}, "anonymous"
    listener.assign_loop()
    get_listener_manager().add_listener(listener)
    return listener


def stop_listening(listener: Listener) -> None:
    get_listener_manager().remove_listener(listener)


def take(listener: Listener, channel: str) -> tuple[list[Event], bool]:
    """The events queued on the listener and whether more arrived than it queues (then: read the table)."""
    manager = get_listener_manager()
    with manager.lock:
        items = listener.channel_items.pop(channel, [])
        overflow, listener.overflow = listener.overflow, False
        listener.aevent.clear()
    return items, overflow


def queue(channel: str, event: Event) -> None:
    """Hand an event to every listener of the channel in this process (thread-safe)."""
    get_listener_manager().add_to_queues(channel, event)


def listeners() -> set[Listener]:
    manager = get_listener_manager()
    with manager.lock:
        return {listener for group in manager.listeners_by_channel.values() for listener in group}


def wake(listener: Listener, *, read_the_table: bool = False) -> None:
    """Wake a listener's stream (call in the event loop); `read_the_table` makes it catch up from there."""
    if read_the_table:
        listener.overflow = True
    listener.aevent.set()


def with_stream_headers(response: HttpResponseBase, request: HttpRequest) -> HttpResponseBase:
    add_default_headers(response, request=request)
    return response
