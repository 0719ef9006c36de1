"""Where events live: their table, with a per-channel id given in the transaction of the change.

django-eventstream's storage interface, on its own Event/EventCounter tables, written for one statement
per batch on PostgreSQL. Reads give their database connection back at once, so that an open stream
holds none.
"""

import datetime as dt
from collections.abc import Sequence

from django.db import connection
from django.utils import timezone

from core.events import storage_sql
from core.events.eventstream import Event, EventCounter, EventDoesNotExist, EventRow, StorageBase
from core.statement import OneStatement


def release_connection() -> None:
    """Streams read storage from worker threads; give their connection back after each read."""
    if not connection.in_atomic_block:
        connection.close()


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
            EventRow.objects.bulk_create(
                [
                    EventRow(channel=channel, type=event_type, data=data, eid=eid)
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
        """Store the events in one statement. Channels without a counter row yet are left out."""
        statement = OneStatement()
        source = storage_sql.events_part(statement, events)
        stored = self.append_in(statement, source=source)
        ids: dict[str, list[int]] = {}
        for channel, _type, _data, eid in statement.execute()[stored] or []:
            ids.setdefault(channel, []).append(eid)
        return ids

    def append_in(self, statement: OneStatement, *, source: str) -> int:
        """Store, as parts of `statement`, the events its part `source` yields (channel, type, data, ord).
        Returns the output's index of the stored events (storage_sql.append_parts says how)."""
        return storage_sql.append_parts(statement, source=source, now=timezone.now())

    def _next_id(self, channel: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(storage_sql.NEXT_ID, [timezone.now(), channel])
            row = cursor.fetchone()
            if row is None:
                _counter, created = EventCounter.objects.get_or_create(name=channel)
                if created:  # id 0 is where a stream starts that has seen no event yet
                    EventRow.objects.bulk_create([EventRow(channel=channel, type="", data="", eid=0)])
                cursor.execute(storage_sql.NEXT_ID, [timezone.now(), channel])
                row = cursor.fetchone()
        return row[0]

    def get_events(self, channel: str, last_id: int, limit: int = 100) -> list[Event]:
        try:
            rows = list(
                EventRow.objects.filter(channel=channel, eid__gte=last_id)
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
            value = EventCounter.objects.filter(name=channel).values_list("value", flat=True).first()
            return value or 0
        finally:
            release_connection()


def trim_events(*, older_than: dt.timedelta) -> int:
    """Forget events older than `older_than`: a stream that far behind starts over from a snapshot."""
    deleted, _ = EventRow.objects.filter(created__lt=timezone.now() - older_than, eid__gt=0).delete()
    return deleted
