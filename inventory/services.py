"""Every change of seat holds. The caller (orders/services/) has locked the holder's row first. Who gets
a seat: on PostgreSQL the partial unique index decides (`hold_seats_in`, one statement with the rest of
the change); on SQLite the seat rows are locked, in id order and in one statement, before anything is
checked (`hold_seats`). docs/locking.md.

A holder is an order id: the inventory needs nothing else of an order.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q

from core.errors import Conflict, InvalidInput
from core.locking import busy_on_lock_timeout, lock_all, lock_values
from core.statement import OneStatement, bound_cursor
from core.statement import only_if as statement_only_if
from flights.models import Flight, Seat
from inventory.events import sorted_labels
from inventory.models import LIVE_HOLD_STATES, HoldState, SeatHold


class SeatsTaken(Conflict):
    code = "seats_taken"


def seats_taken_error(labels: list[str]) -> SeatsTaken:
    many = len(labels) > 1
    return SeatsTaken(
        f"Seat{'s' if many else ''} {', '.join(labels)} {'are' if many else 'is'} already taken. Choose other seats.",
        seats=labels,
    )


def lock_seats(*, holder: str, flight: Flight, labels: Sequence[str]) -> list[Seat]:
    """Lock, in id order and in one statement, the seats asked for and the seats the holder holds now
    (`hold_seats`, SQLite's path): no other change that holds seats can slip in between check and write."""
    held_now = SeatHold.objects.filter(order_id=holder, state=HoldState.HELD).values("seat_id")
    asked = Q(flight_id=flight.pk, label__in=labels)
    return lock_all(Seat.objects.filter(asked | Q(pk__in=held_now)))


def still_counts(hold: SeatHold, now: dt.datetime) -> bool:
    """Whether a hold still has its seat at `now`: `inventory.models.live_at`, for a row in hand."""
    if hold.state == HoldState.CONFIRMED:
        return True
    return hold.state == HoldState.HELD and (hold.expires_at is None or hold.expires_at > now)


@dataclass(frozen=True)
class Selection:
    """What `hold_seats` did: the seats now held (map order), the ones newly held, the ones let go."""

    labels: list[str]
    new: list[str]
    released: list[str]


def hold_seats(
    *, holder: str, flight: Flight, labels: list[str], expires_at: dt.datetime | None, now: dt.datetime
) -> Selection:
    """Make `labels` the holder's whole selection, all or nothing: seats no longer wanted are released,
    kept and new ones held until `expires_at`. A seat another holder has live is refused, naming it; a
    lapsed hold of another is taken over (marked EXPIRED first)."""
    seats = lock_seats(holder=holder, flight=flight, labels=labels)
    wanted = [s for s in seats if s.label in set(labels)]
    unknown = sorted(set(labels) - {s.label for s in wanted})
    if unknown:
        raise InvalidInput(
            f"Flight {flight.code} has no seat {', '.join(unknown)}. GET /flights/{flight.code} shows its seat map.",
            code="unknown_seats",
            seats=unknown,
        )
    holds = list(SeatHold.objects.filter(seat__in=seats, state__in=LIVE_HOLD_STATES))
    mine = {h.seat_id: h for h in holds if h.order_id == holder}
    others = [h for h in holds if h.order_id != holder]
    wanted_ids = {s.pk for s in wanted}
    taken = {h.seat_id for h in others if h.seat_id in wanted_ids and still_counts(h, now)}
    if taken:
        raise seats_taken_error([s.label for s in wanted if s.pk in taken])
    _end([h.pk for h in others if h.seat_id in wanted_ids], state=HoldState.EXPIRED, now=now)
    _end([h.pk for seat_id, h in mine.items() if seat_id not in wanted_ids], state=HoldState.RELEASED, now=now)
    kept = [h.pk for seat_id, h in mine.items() if seat_id in wanted_ids]
    if kept:
        SeatHold.objects.filter(pk__in=kept).update(expires_at=expires_at)
    new = [s for s in wanted if s.pk not in mine]
    if new:
        SeatHold.objects.bulk_create(SeatHold(order_id=holder, seat=s, expires_at=expires_at) for s in new)
    released = [s.label for s in seats if s.pk in mine and s.pk not in wanted_ids]
    return Selection(labels=[s.label for s in wanted], new=[s.label for s in new], released=released)


@dataclass(frozen=True)
class HoldParts:
    """Where `hold_seats_in` put its work in a one-statement change: its parts' names and its outputs."""

    labels: list[str]
    flight_code: str
    released: str  # part: the seats let go (label)
    new: str  # part: the seats newly held (label)
    found_at: int
    new_at: int
    released_at: int
    taken_at: int
    refused: str  # SQL: true when `selection` would raise (a seat unknown or taken)

    def selection(self, row: tuple) -> Selection:
        """What the statement did, as `hold_seats` reports it; raises as `hold_seats` does (the caller's
        transaction then rolls back whatever the statement wrote)."""
        unknown = sorted(set(self.labels) - set(row[self.found_at]))
        if unknown:
            raise InvalidInput(
                f"Flight {self.flight_code} has no seat {', '.join(unknown)}. "
                f"GET /flights/{self.flight_code} shows its seat map.",
                code="unknown_seats",
                seats=unknown,
            )
        if row[self.taken_at]:
            raise seats_taken_error(sorted_labels(row[self.taken_at]))
        return Selection(
            labels=sorted_labels(row[self.found_at]),
            new=sorted_labels(row[self.new_at]),
            released=sorted_labels(row[self.released_at]),
        )


# Which conflicting insert is skipped: one on a seat with a live hold (the partial unique index's rows).
ARBITER = f"ON CONFLICT (seat_id) WHERE state IN ('{HoldState.HELD}', '{HoldState.CONFIRMED}') DO NOTHING"


def hold_seats_in(
    statement: OneStatement,
    *,
    holder: str,
    flight: Flight,
    labels: list[str],
    expires_at: dt.datetime | None,
    now: dt.datetime,
    only_if: str | None = None,
) -> HoldParts:
    """`hold_seats` on PostgreSQL, as parts of one statement with the rest of the change (core/statement.py).
    `only_if`: a part that must yield a row for anything to be done (the holder's lock, when the statement
    takes it itself); it runs before any hold is touched.

    No seat row is locked: the partial unique index `one_live_hold_per_seat` decides. A new hold is
    inserted with ON CONFLICT DO NOTHING, which waits for a transaction holding the seat to end and then
    skips the row if that one committed a live hold: every waiter wakes at that commit together, instead
    of queueing on a seat lock one by one. Rows are written in seat id order, so two changes never wait on
    each other in a cycle. Each UPDATE re-checks its condition on the newest row after any wait, so a hold
    another change ended or extended meanwhile is seen as it now is. A wanted seat that ends up neither
    kept nor newly held is taken; the caller raises, and the transaction undoes the statement's writes.
    The holder's own holds are read by this statement, which runs after the holder's row lock is granted.
    """
    seat, hold = Seat._meta.db_table, SeatHold._meta.db_table
    held, expired, released = HoldState.HELD, HoldState.EXPIRED, HoldState.RELEASED
    # Every other part reads hs_wanted or, for the release, the same condition.
    only = statement_only_if(only_if)
    statement.part(
        "hs_wanted",
        f"SELECT id, label FROM {seat} WHERE flight_id = %s AND label = ANY(%s){only}",  # noqa: S608 - table names only
        flight.pk,
        labels,
    )
    # Another holder's hold past its deadline no longer counts: it is marked EXPIRED, so the seat's index
    # entry is free for the insert below (which runs after this, as it reads this part's result).
    statement.part(
        "hs_lapsed",
        f"""UPDATE {hold} SET state = '{expired}', ended_at = %s
        WHERE seat_id IN (SELECT id FROM hs_wanted) AND order_id <> %s AND state = '{held}' AND expires_at <= %s
        RETURNING seat_id""",  # noqa: S608
        now,
        holder,
        now,
    )
    statement.part(
        "hs_released",
        f"""UPDATE {hold} AS h SET state = '{released}', ended_at = %s FROM {seat} AS s
        WHERE s.id = h.seat_id AND h.order_id = %s AND h.state = '{held}' AND h.seat_id NOT IN (SELECT id FROM hs_wanted){only}
        RETURNING s.label""",  # noqa: S608
        now,
        holder,
    )
    statement.part(
        "hs_kept",
        f"""UPDATE {hold} SET expires_at = %s
        WHERE order_id = %s AND state = '{held}' AND seat_id IN (SELECT id FROM hs_wanted) RETURNING seat_id""",  # noqa: S608
        expires_at,
        holder,
    )
    statement.part(
        "hs_inserted",
        f"""INSERT INTO {hold} (order_id, seat_id, state, expires_at, created_at)
        SELECT %s, w.id, '{held}', %s::timestamptz, %s::timestamptz FROM hs_wanted AS w CROSS JOIN (SELECT count(*) FROM hs_lapsed) AS after_lapsed
        WHERE w.id NOT IN (SELECT seat_id FROM hs_kept) ORDER BY w.id
        {ARBITER} RETURNING seat_id""",  # noqa: S608
        holder,
        expires_at,
        now,
    )
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
        refused=f"(SELECT count(*) FROM hs_wanted) <> {len(labels)} OR EXISTS ({_TAKEN})",  # noqa: S608
    )


# The wanted seats neither kept nor newly held: another holder has them.
_TAKEN = "SELECT label FROM hs_wanted WHERE id NOT IN (SELECT seat_id FROM hs_kept) AND id NOT IN (SELECT seat_id FROM hs_inserted)"


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


def _end(hold_ids: list[int], *, state: HoldState, now: dt.datetime) -> None:
    if hold_ids:
        SeatHold.objects.filter(pk__in=hold_ids).update(state=state, ended_at=now)


def release_holds(*, holder: str, now: dt.datetime, state: HoldState = HoldState.RELEASED) -> list[str]:
    """End the holder's live holds (RELEASED, or EXPIRED); returns the labels of the seats that became free.
    Needs only the holder's lock: taking liveness away can never put two live holds on a seat."""
    # Locked first: a hold another order is taking over right now is left out, not announced as freed.
    held = lock_values(SeatHold.objects.filter(order_id=holder, state=HoldState.HELD), "seat__label")
    _end([pk for pk, _label in held], state=state, now=now)
    return [label for _pk, label in held]


def keep_until_paid(*, holder: str) -> bool:
    """The holder's payment starts: its holds no longer lapse; the payment's outcome decides. False (and
    nothing changed) if another order has taken over one of its holds: the holder's hold had lapsed, even
    if the holder's own clock, read before it waited for its lock, says not yet."""
    held = lock_values(SeatHold.objects.filter(order_id=holder, state=HoldState.HELD))
    # Only a takeover marks a hold EXPIRED while its holder may still pay (its own expiry ends the order).
    if SeatHold.objects.filter(order_id=holder, state=HoldState.EXPIRED).exists():
        return False
    SeatHold.objects.filter(pk__in=[pk for (pk,) in held]).update(expires_at=None)
    return True


def confirm_holds(*, holder: str, now: dt.datetime) -> list[str]:
    """The holder paid: its holds become bookings (ended as holds `now`, which the dashboard counts).
    Returns the labels."""
    holds = SeatHold.objects.filter(order_id=holder, state=HoldState.HELD)
    labels = list(holds.values_list("seat__label", flat=True))
    holds.update(state=HoldState.CONFIRMED, ended_at=now)
    return labels


def expire_holds(*, holders: list[str], now: dt.datetime) -> dict[str, list[str]]:
    """End the live holds of many holders at once (the timer loop's batch); the freed labels by flight."""
    held = lock_values(
        SeatHold.objects.filter(order_id__in=holders, state=HoldState.HELD), "seat__flight__code", "seat__label"
    )
    freed_by_flight: dict[str, list[str]] = {}
    for _pk, flight_code, label in held:
        freed_by_flight.setdefault(flight_code, []).append(label)
    _end([pk for pk, _code, _label in held], state=HoldState.EXPIRED, now=now)
    return freed_by_flight
