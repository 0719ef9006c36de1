"""`inventory.services.hold_seats` on PostgreSQL, as parts of one statement with the rest of a seat change
(core/statement.py), run after the holder's row lock is granted (docs/locking.md).

No seat row is locked: the partial unique index `one_live_hold_per_seat` decides. A new hold is inserted
with ON CONFLICT DO NOTHING, which waits for a transaction holding the seat to end and then skips the row
if that one committed a live hold: every waiter wakes at that commit together, instead of queueing on a
seat lock one by one. Rows are written in seat id order, so two changes never wait on each other in a
cycle. Each UPDATE re-checks its condition on the newest row after any wait, so a hold another change
ended or extended meanwhile is seen as it now is. A wanted seat that ends up neither kept nor newly held
is taken: `HoldParts.selection` raises, and the caller's transaction undoes the statement's writes.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import connection

from core.locking import busy_on_lock_timeout
from core.statement import OneStatement, bound_cursor
from flights.models import Flight, Seat
from inventory.events import sorted_labels
from inventory.models import HoldState, SeatHold
from inventory.services import Selection, seats_taken_error, unknown_seats_error

_SEAT, _HOLD = Seat._meta.db_table, SeatHold._meta.db_table
_HELD, _EXPIRED, _RELEASED = HoldState.HELD, HoldState.EXPIRED, HoldState.RELEASED

# Which conflicting insert is skipped: one on a seat with a live hold (the partial unique index's rows).
ARBITER = f"ON CONFLICT (seat_id) WHERE state IN ('{_HELD}', '{HoldState.CONFIRMED}') DO NOTHING"

# The wanted seats neither kept nor newly held: another holder has them.
_TAKEN = "SELECT label FROM hs_wanted WHERE id NOT IN (SELECT seat_id FROM hs_kept) AND id NOT IN (SELECT seat_id FROM hs_inserted)"


@dataclass(frozen=True)
class HoldParts:
    """Where `hold_seats_in` put its work in the statement: its parts' names and its outputs' indexes."""

    labels: list[str]
    flight_code: str
    released: str  # part: the seats let go (label)
    new: str  # part: the seats newly held (label)
    found_at: int
    new_at: int
    released_at: int
    taken_at: int

    def selection(self, row: tuple) -> Selection:
        """What the statement did, as `hold_seats` reports it; raises as `hold_seats` does."""
        unknown = sorted(set(self.labels) - set(row[self.found_at]))
        if unknown:
            raise unknown_seats_error(flight_code=self.flight_code, labels=unknown)
        if row[self.taken_at]:
            raise seats_taken_error(sorted_labels(row[self.taken_at]))
        return Selection(
            labels=sorted_labels(row[self.found_at]),
            new=sorted_labels(row[self.new_at]),
            released=sorted_labels(row[self.released_at]),
        )


def hold_seats_in(
    statement: OneStatement,
    *,
    holder: str,
    flight: Flight,
    labels: list[str],
    expires_at: dt.datetime | None,
    now: dt.datetime,
) -> HoldParts:
    """Add `hold_seats`'s work for `holder` to `statement`: make `labels` its whole selection."""
    statement.part(
        "hs_wanted", f"SELECT id, label FROM {_SEAT} WHERE flight_id = %s AND label = ANY(%s)", flight.pk, labels
    )
    # Another holder's hold past its deadline no longer counts: it is marked EXPIRED, so the seat's index
    # entry is free for the insert (which runs after this, as it reads this part's result).
    statement.part(
        "hs_lapsed",
        f"""UPDATE {_HOLD} SET state = '{_EXPIRED}', ended_at = %s
        WHERE seat_id IN (SELECT id FROM hs_wanted) AND order_id <> %s AND state = '{_HELD}' AND expires_at <= %s
        RETURNING seat_id""",
        now,
        holder,
        now,
    )
    _release_keep_and_insert(statement, holder=holder, expires_at=expires_at, now=now)
    statement.part("hs_new", "SELECT w.label FROM hs_wanted AS w JOIN hs_inserted AS i ON i.seat_id = w.id")
    return HoldParts(
        labels=labels,
        flight_code=flight.code,
        released="hs_released",
        new="hs_new",
        found_at=statement.output("ARRAY(SELECT label FROM hs_wanted)"),
        new_at=statement.output("ARRAY(SELECT label FROM hs_new)"),
        released_at=statement.output("ARRAY(SELECT label FROM hs_released)"),
        taken_at=statement.output(f"ARRAY({_TAKEN})"),
    )


def _release_keep_and_insert(
    statement: OneStatement, *, holder: str, expires_at: dt.datetime | None, now: dt.datetime
) -> None:
    """The holder's holds no longer wanted released, the kept ones extended, the new ones inserted."""
    statement.part(
        "hs_released",
        f"""UPDATE {_HOLD} AS h SET state = '{_RELEASED}', ended_at = %s FROM {_SEAT} AS s
        WHERE s.id = h.seat_id AND h.order_id = %s AND h.state = '{_HELD}' AND h.seat_id NOT IN (SELECT id FROM hs_wanted)
        RETURNING s.label""",
        now,
        holder,
    )
    statement.part(
        "hs_kept",
        f"""UPDATE {_HOLD} SET expires_at = %s
        WHERE order_id = %s AND state = '{_HELD}' AND seat_id IN (SELECT id FROM hs_wanted) RETURNING seat_id""",
        expires_at,
        holder,
    )
    statement.part(
        "hs_inserted",
        f"""INSERT INTO {_HOLD} (order_id, seat_id, state, expires_at, created_at)
        SELECT %s, w.id, '{_HELD}', %s::timestamptz, %s::timestamptz FROM hs_wanted AS w CROSS JOIN (SELECT count(*) FROM hs_lapsed) AS after_lapsed
        WHERE w.id NOT IN (SELECT seat_id FROM hs_kept) ORDER BY w.id
        {ARBITER} RETURNING seat_id""",
        holder,
        expires_at,
        now,
    )


# The key space of the advisory locks below (any int4 constant of ours), then the flight's id.
CHOOSERS_LOCK_SPACE = 16_0001


def take_turns_choosing(*, flight: Flight) -> None:
    """PostgreSQL: best-available choosers of one flight take turns (a transaction-scoped advisory lock,
    after the holder's lock), so each reads the seats the one before it took and none chooses them again.
    Without it, every chooser that arrives at once reads the same free seats, picks the same best ones,
    and all but one lose them to the unique index. Explicit selections do not wait for it: a seat one
    takes meanwhile is caught by the index and the chooser chooses again. SQLite serialises writers anyway."""
    if connection.vendor != "postgresql":
        return
    with busy_on_lock_timeout(), bound_cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CHOOSERS_LOCK_SPACE, flight.pk])
