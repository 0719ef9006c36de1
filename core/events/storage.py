"""Where events live: their table, with a per-channel id given in the transaction of the change.

django-eventstream's storage interface, on its own Event/EventCounter tables, written for one statement
per batch on PostgreSQL. Reads give their database connection back at once, so that an open stream
holds none.
"""

import datetime as dt
from collections.abc import Sequence

from django.db import connection
from django.utils import timezone

from core.events.eventstream import Event, EventCounter, EventDoesNotExist, EventRow, StorageBase
from core.statement import OneStatement


def release_connection() -> None:
    """Streams read storage from worker threads; give their connection back after each read."""
    if not connection.in_atomic_block:
        connection.close()


COUNTER_UPDATED_EVERY = dt.timedelta(minutes=1)  # how stale a counter's `updated` may be (`append_in`)


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
        channels, types, data = (list(column) for column in zip(*events, strict=True))
        source = statement.part(
            "ev_source",
            "SELECT channel, type, data, ord FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY "
            "AS e(channel, type, data, ord)",
            channels,
            types,
            data,
        )
        stored = self.append_in(statement, source=source)
        ids: dict[str, list[int]] = {}
        for channel, _type, _data, eid in statement.execute()[stored] or []:
            ids.setdefault(channel, []).append(eid)
        return ids

    def append_in(self, statement: OneStatement, *, source: str) -> int:
        """Store, as parts of `statement`, the events its part `source` yields (channel, type, data, ord):
        bump the channels' counters (locked in name order, so that batches cannot deadlock) and insert the
        events, ids per channel following `ord`. Returns the output's index: the stored events as
        [channel, type, data, eid] lists (None if none). Channels without a counter row are left out."""
        counter, event = EventCounter._meta.db_table, EventRow._meta.db_table
        now = timezone.now()
        statement.part("ev_wanted", f"SELECT channel AS name, count(*) AS n FROM {source} GROUP BY channel")  # noqa: S608 - table and part names only
        statement.part(
            "ev_locked",
            f"SELECT name FROM {counter} WHERE name IN (SELECT name FROM ev_wanted) ORDER BY name FOR UPDATE",  # noqa: S608 - table names only
        )
        # `updated` (indexed by django-eventstream's model) moves only when a minute old: a change of an
        # indexed column makes PostgreSQL write a new entry in every index of the table, where an update of
        # `value` alone is a HOT update, in place. A busy flight's counter row is updated by every change.
        statement.part(
            "ev_bumped",
            f"""UPDATE {counter} AS c SET value = c.value + w.n,
                updated = CASE WHEN c.updated > %s THEN c.updated ELSE %s END
            FROM ev_wanted AS w WHERE c.name = w.name AND c.name IN (SELECT name FROM ev_locked)
            RETURNING c.name, c.value - w.n AS before""",  # noqa: S608
            now - COUNTER_UPDATED_EVERY,
            now,
        )
        statement.part(
            "ev_stored",
            f"""INSERT INTO {event} (channel, type, data, eid, created)
            SELECT e.channel, e.type, e.data, b.before + row_number() OVER (PARTITION BY e.channel ORDER BY e.ord), %s
            FROM {source} AS e JOIN ev_bumped AS b ON b.name = e.channel
            RETURNING channel, type, data, eid""",  # noqa: S608
            now,
        )
        return statement.output("(SELECT json_agg(json_build_array(channel, type, data, eid)) FROM ev_stored)")

    def _next_id(self, channel: str) -> int:
        # The counter row stays locked until the change commits: per channel, ids follow commit order.
        sql = (
            f"UPDATE {EventCounter._meta.db_table} SET value = value + 1, updated = %s WHERE name = %s RETURNING value"  # noqa: S608
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [timezone.now(), channel])
            row = cursor.fetchone()
            if row is None:
                _counter, created = EventCounter.objects.get_or_create(name=channel)
                if created:  # id 0 is where a stream starts that has seen no event yet
                    EventRow.objects.bulk_create([EventRow(channel=channel, type="", data="", eid=0)])
                cursor.execute(sql, [timezone.now(), channel])
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
