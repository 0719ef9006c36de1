"""Every change of seat holds. The caller (orders/services/) has locked the holder's row first. Who gets
a seat: here (the ORM's statements, SQLite's path) the seat rows are locked, in id order and in one
statement, before anything is checked (`hold_seats`); in a seat change's one statement on PostgreSQL
(inventory/holds_sql.py) the partial unique index decides. docs/locking.md.

A holder is an order id: the inventory needs nothing else of an order.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Q

from core.errors import Conflict, InvalidInput
from core.locking import lock_all, lock_values
from flights.models import Flight, Seat
from inventory.models import LIVE_HOLD_STATES, HoldState, SeatHold


class SeatsTaken(Conflict):
    code = "seats_taken"


def seats_taken_error(labels: list[str]) -> SeatsTaken:
    many = len(labels) > 1
    return SeatsTaken(
        f"Seat{'s' if many else ''} {', '.join(labels)} {'are' if many else 'is'} already taken. Choose other seats.",
        seats=labels,
    )


def unknown_seats_error(*, flight_code: str, labels: list[str]) -> InvalidInput:
    return InvalidInput(
        f"Flight {flight_code} has no seat {', '.join(labels)}. GET /flights/{flight_code} shows its seat map.",
        code="unknown_seats",
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
        raise unknown_seats_error(flight_code=flight.code, labels=unknown)
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


def hold_beside_booked(*, holder: str, flight: Flight, labels: list[str], now: dt.datetime) -> list[str]:
    """Hold `labels` for a holder that has booked others (a confirmed booking's seat change), all or nothing
    and with no deadline while the change is settled: the seats locked in id order first, then checked as
    `hold_seats` checks them. Returns the labels held, in map order."""
    seats = lock_all(Seat.objects.filter(flight_id=flight.pk, label__in=labels))
    unknown = sorted(set(labels) - {s.label for s in seats})
    if unknown:
        raise unknown_seats_error(flight_code=flight.code, labels=unknown)
    holds = list(SeatHold.objects.filter(seat__in=seats, state__in=LIVE_HOLD_STATES))
    taken = {h.seat_id for h in holds if h.order_id != holder and still_counts(h, now)}
    if taken:
        raise seats_taken_error([s.label for s in seats if s.pk in taken])
    _end([h.pk for h in holds if h.order_id != holder], state=HoldState.EXPIRED, now=now)
    SeatHold.objects.bulk_create(SeatHold(order_id=holder, seat=s, expires_at=None) for s in seats)
    return [s.label for s in seats]


def book_held_instead(*, holder: str, release: list[str], now: dt.datetime) -> tuple[list[str], list[str]]:
    """A seat change settles in one step: the holder's held seats become booked and its booked seats
    `release` go back on sale. Returns (booked, released) labels."""
    booked = confirm_holds(holder=holder, now=now)
    return booked, release_booked(holder=holder, labels=release, now=now)


def release_booked(*, holder: str, labels: list[str], now: dt.datetime) -> list[str]:
    """Give back booked seats (a cancellation, or the old seats of a change): they are on sale at once."""
    held = lock_values(
        SeatHold.objects.filter(order_id=holder, state=HoldState.CONFIRMED, seat__label__in=labels), "seat__label"
    )
    _end([pk for pk, _label in held], state=HoldState.RELEASED, now=now)
    return [label for _pk, label in held]
