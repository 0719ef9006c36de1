"""Publishing: an event is stored in the transaction of the change that caused it, and announced to the
web processes once that commits (never if it rolls back).

With REDIS_URL, the announcement goes through Redis pub/sub (see core/events/delivery.py for how the
web processes receive it, and how nothing is lost when Redis is away). Without, web processes find new
events by polling the table, whichever process stored them.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings
from django.db import connection, transaction

from core.events.eventstream import Event, get_storage
from core.events.storage import EventStorage
from core.events.storage_sql import as_event_lists, unstored_events
from core.redis_state import SOCKET_TIMEOUT_SECONDS, breaker, is_redis_error
from core.statement import OneStatement

# Publishers post to this Redis pub/sub channel; every web process subscribes.
REDIS_PUBSUB_CHANNEL = "events_channel"


def event_data(payload: Mapping[str, Any]) -> str:
    """An event's data as stored and sent: compact JSON."""
    return json.dumps(payload, separators=(",", ":"))


def publish(channel: str, event_type: str, payload: Mapping[str, Any]) -> None:
    """Store an event with the current transaction; deliver it once that commits (never if it rolls back)."""
    publish_many([(channel, event_type, payload)])


def publish_many(events: Sequence[tuple[str, str, Mapping[str, Any]]]) -> None:
    """`publish` for many events at once (a batch of expiries): one statement on PostgreSQL, however many."""
    assert connection.in_atomic_block, "publish inside the transaction of the change it reports"
    stored = get_storage().append_events(
        [(channel, event_type, event_data(payload)) for channel, event_type, payload in events]
    )
    _announce_on_commit(stored)


def publish_in(statement: OneStatement, *, source: str) -> Callable[[tuple[Any, ...]], None]:
    """`publish` for the events that the part `source` of a one-statement change (core/statement.py)
    yields as (channel, type, data, ord): they are stored by the same statement, inside the change's
    transaction. Returns what to call with the statement's row once it has run (a channel's first event
    takes statements of its own: its counter row is made first)."""
    assert connection.in_atomic_block, "publish inside the transaction of the change it reports"
    storage = get_storage()
    assert isinstance(storage, EventStorage)
    stored_at = storage.append_in(statement, source=source)
    missing = unstored_events(source)
    missing_at = statement.output(as_event_lists(missing))

    def after(row: tuple[Any, ...]) -> None:
        stored = [Event(channel, event_type, data, id=eid) for channel, event_type, data, eid in row[stored_at] or []]
        missing = [tuple(event) for event in row[missing_at] or []]
        if missing:
            stored += storage.append_events(missing)
        _announce_on_commit(stored)

    return after


def _announce_on_commit(stored: list[Event]) -> None:
    if settings.REDIS_URL and stored:
        # One message for the whole commit (a seat change's two events, a batch of expiries): each message
        # costs every subscribed process a wake-up, more than the events' size does.
        message = {"events": [[e.channel, e.type, e.data, e.id] for e in stored]}
        transaction.on_commit(lambda: _publish_on_redis(message))


_publisher_breaker = breaker("event publishing")


def _publish_on_redis(message: dict[str, Any]) -> None:
    """Tell the web processes, through Redis, of events just committed. Without Redis they are not lost:
    the subscribers poll the table meanwhile, and everything is in the table for the catch-up."""
    if not _publisher_breaker.allows():
        return
    if _publisher_breaker.down_since is not None:  # subscribers that did not notice the outage catch up
        message = {**message, "catch_up": True}
    try:
        _redis(settings.REDIS_URL).publish(REDIS_PUBSUB_CHANNEL, json.dumps(message, separators=(",", ":")))
    except Exception as exc:  # the change is committed whatever Redis says
        if not is_redis_error(exc):
            raise
        _publisher_breaker.failed(exc)
    else:
        _publisher_breaker.succeeded()


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=SOCKET_TIMEOUT_SECONDS, socket_connect_timeout=SOCKET_TIMEOUT_SECONDS
    )
