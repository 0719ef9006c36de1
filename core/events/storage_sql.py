"""The event storage's hand-written SQL (PostgreSQL): the parts that store events inside a one-statement
change (core/statement.py), and the bump of one channel's counter.

Names in the text are the models' table names and the caller's part names; every value is a parameter.
"""

import datetime as dt
from collections.abc import Sequence

from core.events.eventstream import EventCounter, EventRow
from core.statement import OneStatement

COUNTER_UPDATED_EVERY = dt.timedelta(minutes=1)  # how stale a counter's `updated` may be (`append_parts`)

# One channel's next id; the counter row stays locked until the change commits, so that per channel, ids
# follow commit order. No row: the channel has had no event yet.
NEXT_ID = f"UPDATE {EventCounter._meta.db_table} SET value = value + 1, updated = %s WHERE name = %s RETURNING value"


def events_part(statement: OneStatement, events: Sequence[tuple[str, str, str]]) -> str:
    """A part yielding the (channel, type, data) events as rows (channel, type, data, ord)."""
    channels, types, data = (list(column) for column in zip(*events, strict=True))
    return statement.part(
        "ev_source",
        "SELECT channel, type, data, ord FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY "
        "AS e(channel, type, data, ord)",
        channels,
        types,
        data,
    )


def append_parts(statement: OneStatement, *, source: str, now: dt.datetime) -> int:
    """The parts that store the events the part `source` yields (channel, type, data, ord): bump the
    channels' counters (locked in name order, so that batches cannot deadlock) and insert the events, ids
    per channel following `ord`. Returns the output's index: the stored events as [channel, type, data,
    eid] lists (None if none). Channels without a counter row are left out (`unstored_events`)."""
    counter, event = EventCounter._meta.db_table, EventRow._meta.db_table
    statement.part("ev_wanted", f"SELECT channel AS name, count(*) AS n FROM {source} GROUP BY channel")
    statement.part(
        "ev_locked",
        f"SELECT name FROM {counter} WHERE name IN (SELECT name FROM ev_wanted) ORDER BY name FOR UPDATE",
    )
    # `updated` (indexed by django-eventstream's model) moves only when a minute old: a change of an
    # indexed column makes PostgreSQL write a new entry in every index of the table, where an update of
    # `value` alone is a HOT update, in place. A busy flight's counter row is updated by every change.
    statement.part(
        "ev_bumped",
        f"""UPDATE {counter} AS c SET value = c.value + w.n,
            updated = CASE WHEN c.updated > %s THEN c.updated ELSE %s END
        FROM ev_wanted AS w WHERE c.name = w.name AND c.name IN (SELECT name FROM ev_locked)
        RETURNING c.name, c.value - w.n AS before""",
        now - COUNTER_UPDATED_EVERY,
        now,
    )
    statement.part(
        "ev_stored",
        f"""INSERT INTO {event} (channel, type, data, eid, created)
        SELECT e.channel, e.type, e.data, b.before + row_number() OVER (PARTITION BY e.channel ORDER BY e.ord), %s
        FROM {source} AS e JOIN ev_bumped AS b ON b.name = e.channel
        RETURNING channel, type, data, eid""",
        now,
    )
    return statement.output("(SELECT json_agg(json_build_array(channel, type, data, eid)) FROM ev_stored)")


def unstored_events(source: str) -> str:
    """The rows of the part `source` that `append_parts` left out: their channel has no counter row yet."""
    return f"SELECT * FROM {source} WHERE channel NOT IN (SELECT channel FROM ev_stored)"


def as_event_lists(select: str) -> str:
    """An output of the rows of `select` as [channel, type, data] lists in `ord` order (NULL if none)."""
    return f"(SELECT json_agg(json_build_array(channel, type, data) ORDER BY ord) FROM ({select}) AS m)"
