"""Every change of an order, one function each.

Rules every function here follows (the reasons are in ../README.md, "Consistency"):
- one transaction per change; the order row is locked first (`select_for_update`), then the seat rows it
  touches, all in one statement sorted by id, before anything is checked: lock order is always
  order -> seats, so two changes never wait on each other in a cycle;
- the state machine (django-fsm transitions on Order) decides which changes a state allows;
- a hold whose deadline passed counts as gone on every path, whether or not a sweeper has run yet;
- every change writes an AuditEntry.
"""

import datetime as dt
import secrets
from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from flights.models import Flight, Seat
from orders.access import hash_token
from orders.models import AuditEntry, HoldState, Order, OrderState, SeatHold
from seatbooking.errors import Conflict, InvalidInput, NotFound


class SeatsTaken(Conflict):
    code = "seats_taken"


class HoldExpired(Conflict):
    code = "hold_expired"


class WrongState(Conflict):
    code = "wrong_state"


def new_order_id() -> str:
    # 128 random bits: an id the server makes cannot be guessed.
    return f"o-{secrets.token_urlsafe(16)}"


def create_order(*, flight_code: str, order_id: str | None = None, actor: str) -> tuple[Order, str]:
    """Create a PENDING order; returns it with its bearer token, which is shown only this once."""
    try:
        flight = Flight.objects.get(code=flight_code)
    except Flight.DoesNotExist:
        raise NotFound(f"There is no flight {flight_code!r}. GET /flights lists the flights on offer.",
                       code="unknown_flight") from None
    order_id = order_id or new_order_id()
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            order = Order.objects.create(id=order_id, flight=flight, token_hash=hash_token(token))
            _audit(order, action="create", from_state="", actor=actor, reason=f"order created on {flight.code}")
    except IntegrityError:
        raise Conflict(f"The order id {order_id!r} is already taken. Choose another or omit orderID "
                       "to let the server make one.", code="order_id_taken") from None
    return order, token


def select_seats(*, order_id: str, labels: Sequence[str], actor: str, now: dt.datetime | None = None) -> Order:
    """Make `labels` the order's whole selection, all or nothing, each seat held until now + hold time.

    Seats no longer wanted are released; kept and new seats share one new deadline; an empty selection
    returns the order to PENDING. Seats live-held or booked by another order are refused, naming them.
    """
    wanted = _check_labels(labels)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            order = _lock_order(order_id)
            if _hold_lapsed(order, now):
                _expire_locked(order, now=now, actor=actor, reason="hold deadline passed")
                lapsed = True
            else:
                lapsed = False
                _change_selection(order, wanted=wanted, now=now, actor=actor)
    except IntegrityError:
        # The partial unique index caught a second live hold the locks should have prevented.
        raise SeatsTaken("One of these seats was taken at the same moment. Try again.") from None
    if lapsed:
        raise _hold_expired_error(order)
    return order


def cancel_order(*, order_id: str, actor: str, reason: str = "cancelled by the traveller",
                 now: dt.datetime | None = None) -> Order:
    """Cancel an order that has not started paying, releasing its seats."""
    now = now or timezone.now()
    with transaction.atomic():
        order = _lock_order(order_id)
        if _hold_lapsed(order, now):
            _expire_locked(order, now=now, actor=actor, reason="hold deadline passed")
            lapsed = True
        else:
            lapsed = False
            from_state = order.state
            _transition(order, order.cancel, verb="cancel")
            _end_holds(order, now=now, state=HoldState.RELEASED)
            order.hold_expires_at = None
            order.save(update_fields=["state", "hold_expires_at", "updated_at"])
            _audit(order, action="cancel", from_state=from_state, actor=actor, reason=reason)
    if lapsed:
        raise _hold_expired_error(order)
    return order


def expire_order(*, order_id: str, actor: str = "system:expiry", now: dt.datetime | None = None) -> bool:
    """Expire the order if its hold deadline has passed; returns whether it did. Safe to call repeatedly."""
    now = now or timezone.now()
    with transaction.atomic():
        order = _lock_order(order_id)
        if not _hold_lapsed(order, now):
            return False
        _expire_locked(order, now=now, actor=actor, reason="hold deadline passed")
    return True


# --- internals -----------------------------------------------------------------------------------


def _check_labels(labels: Sequence[str]) -> list[str]:
    """Domain limits on a selection (the API validates types and format before this)."""
    limit = settings.MAX_SEATS_PER_ORDER
    if len(labels) > limit:
        raise InvalidInput(f"An order can hold at most {limit} seats; you asked for {len(labels)}.",
                           code="too_many_seats")
    seen: set[str] = set()
    repeated = sorted({label for label in labels if label in seen or seen.add(label)})
    if repeated:
        raise InvalidInput(f"Each seat may be listed once; repeated: {', '.join(repeated)}.", code="duplicate_seats",
                           seats=repeated)
    return list(labels)


def _lock_order(order_id: str) -> Order:
    try:
        # of=("self",): lock the order row only, not the flight row joined for its code.
        return Order.objects.select_related("flight").select_for_update(of=("self",)).get(pk=order_id)
    except Order.DoesNotExist:
        raise NotFound(f"There is no order {order_id!r}.", code="unknown_order") from None


def lock_seats(*, order: Order, labels: Sequence[str]) -> list[Seat]:
    """Lock, in id order and in one statement, the seats asked for and the seats the order holds now.

    Every writer of a seat's holds locks the seat first, so the availability check that follows sees
    every committed hold and no other writer can slip in between check and write.
    """
    held_now = SeatHold.objects.filter(order=order, state=HoldState.HELD).values("seat_id")
    asked = Q(flight_id=order.flight_id, label__in=labels)
    return list(Seat.objects.select_for_update().filter(asked | Q(pk__in=held_now)).order_by("id"))


def _hold_lapsed(order: Order, now: dt.datetime) -> bool:
    return order.state == OrderState.SEATS_SELECTED and order.hold_expires_at is not None and order.hold_expires_at <= now


def _hold_expired_error(order: Order) -> HoldExpired:
    return HoldExpired(
        f"The hold on this order's seats ended at {order.hold_expires_at:%Y-%m-%d %H:%M:%S} UTC and the order "
        "has expired. Create a new order to book again."
    )


def _transition(order: Order, method, *, verb: str) -> None:
    try:
        method()
    except TransitionNotAllowed:
        raise WrongState(f"Cannot {verb}: the order is {order.state}.", state=order.state) from None


def _change_selection(order: Order, *, wanted: list[str], now: dt.datetime, actor: str) -> None:
    from_state = order.state
    _transition(order, order.select_seats if wanted else order.clear_seats, verb="change seats")

    seats = lock_seats(order=order, labels=wanted)
    wanted_seats = [s for s in seats if s.label in set(wanted)]
    unknown = sorted(set(wanted) - {s.label for s in wanted_seats})
    if unknown:
        raise InvalidInput(f"Flight {order.flight.code} has no seat {', '.join(unknown)}. "
                           f"GET /flights/{order.flight.code} shows its seat map.", code="unknown_seats", seats=unknown)

    holds = list(SeatHold.objects.filter(seat__in=seats, state__in=(HoldState.HELD, HoldState.CONFIRMED)))
    mine = {h.seat_id: h for h in holds if h.order_id == order.pk}
    others = [h for h in holds if h.order_id != order.pk]
    wanted_ids = {s.pk for s in wanted_seats}
    taken = [h for h in others if h.seat_id in wanted_ids and _counts(h, now)]
    if taken:
        labels = [s.label for s in wanted_seats if s.pk in {h.seat_id for h in taken}]
        raise SeatsTaken(f"Seat{'s' if len(labels) > 1 else ''} {', '.join(labels)} "
                         f"{'are' if len(labels) > 1 else 'is'} already taken. Choose other seats.", seats=labels)

    lapsed_of_others = [h.pk for h in others if h.seat_id in wanted_ids]
    if lapsed_of_others:
        SeatHold.objects.filter(pk__in=lapsed_of_others).update(state=HoldState.EXPIRED, ended_at=now)
    dropped = [h.pk for seat_id, h in mine.items() if seat_id not in wanted_ids]
    if dropped:
        SeatHold.objects.filter(pk__in=dropped).update(state=HoldState.RELEASED, ended_at=now)

    expires_at = now + dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS) if wanted else None
    kept = [h.pk for seat_id, h in mine.items() if seat_id in wanted_ids]
    if kept:
        SeatHold.objects.filter(pk__in=kept).update(expires_at=expires_at)
    new = [s for s in wanted_seats if s.pk not in mine]
    if new:
        SeatHold.objects.bulk_create(SeatHold(order=order, seat=s, expires_at=expires_at) for s in new)

    order.hold_expires_at = expires_at
    order.save(update_fields=["state", "hold_expires_at", "updated_at"])
    _audit(order, action="select_seats", from_state=from_state, actor=actor,
           reason=f"seats {', '.join(s.label for s in wanted_seats) or 'none'}",
           details={"seats": [s.label for s in wanted_seats],
                    "released": [s.label for s in seats if s.pk in mine and s.pk not in wanted_ids]})


def _counts(hold: SeatHold, now: dt.datetime) -> bool:
    """Whether a hold still has its seat at `now` (a lapsed HELD row does not)."""
    return hold.state == HoldState.CONFIRMED or hold.expires_at is None or hold.expires_at > now


def _expire_locked(order: Order, *, now: dt.datetime, actor: str, reason: str) -> None:
    from_state = order.state
    order.expire()
    _end_holds(order, now=now, state=HoldState.EXPIRED)
    order.save(update_fields=["state", "updated_at"])
    _audit(order, action="expire", from_state=from_state, actor=actor, reason=reason)


def _end_holds(order: Order, *, now: dt.datetime, state: HoldState) -> None:
    SeatHold.objects.filter(order=order, state=HoldState.HELD).update(state=state, ended_at=now)


def _audit(order: Order, *, action: str, from_state: str, actor: str, reason: str = "",
           details: dict | None = None) -> None:
    AuditEntry.objects.create(order=order, action=action, from_state=from_state, to_state=order.state,
                              actor=actor, reason=reason, details=details or {})
