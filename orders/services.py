"""Every change of an order, one function each: booking, payment, and the timer loop's batch changes.

Rules every function here follows (the reasons are in ../README.md, "Consistency"):
- one transaction per change; the order row is locked first (`select_for_update`), then the seat rows it
  touches, all in one statement sorted by id, before anything is checked: lock order is always
  order -> seats, so two changes never wait on each other in a cycle;
- the state machine (django-fsm transitions on Order) decides which changes a state allows;
- a seat is made live (held) only under its seat lock; releasing an order's holds needs only the
  order's lock, since taking liveness away can never put two live holds on a seat;
- a hold whose deadline passed counts as gone on every path, whether or not a sweeper has run yet;
- every change writes an AuditEntry and publishes the order's new status (and the seats it changed on
  the flight's channel) in its transaction; delivery and work for a worker start only once it commits.
"""

import datetime as dt
import logging
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from core.errors import Conflict, InvalidInput, NotFound
from flights.models import Seat
from flights.selectors import get_flight
from orders import queue
from orders.access import hash_token
from orders.events import publish_order_status, publish_order_statuses, publish_seat_changes, sorted_labels
from orders.gateway import ChargeResult
from orders.models import (
    AttemptOutcome,
    AuditAction,
    AuditEntry,
    HoldState,
    Order,
    OrderState,
    PaymentAttempt,
    PaymentStatus,
    SeatHold,
)
from orders.selectors import order_status

log = logging.getLogger(__name__)


class SeatsTaken(Conflict):
    code = "seats_taken"


class HoldExpired(Conflict):
    code = "hold_expired"


class WrongState(Conflict):
    code = "wrong_state"


def new_order_id() -> str:
    # 128 random bits: an id the server makes cannot be guessed.
    return f"o-{secrets.token_urlsafe(16)}"


def create_order(
    *, flight_code: str, order_id: str | None = None, actor: str, token: str | None = None
) -> tuple[Order, str]:
    """Create a PENDING order; returns it with its bearer token, which is shown only this once.

    `token`: one made by the caller (the API derives it from an Idempotency-Key); else a random one.
    """
    flight = get_flight(code=flight_code)
    order_id = order_id or new_order_id()
    token = token or secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            order = Order.objects.create(id=order_id, flight=flight, token_hash=hash_token(token))
            _record_change(
                order, action=AuditAction.CREATE, from_state="", actor=actor, reason=f"order created on {flight.code}"
            )
    except IntegrityError:
        raise Conflict(
            f"The order id {order_id!r} is already taken. Choose another or omit orderID to let the server make one.",
            code="order_id_taken",
        ) from None
    return order, token


def select_seats(*, order_id: str, labels: Sequence[str], actor: str, now: dt.datetime | None = None) -> Order:
    """Make `labels` the order's whole selection, all or nothing, each seat held until now + hold time.

    Seats no longer wanted are released; kept and new seats share one new deadline; an empty selection
    returns the order to PENDING. Seats live-held or booked by another order are refused, naming them.
    """
    wanted = _check_labels(labels)
    now = now or timezone.now()
    taken = _visibly_taken(order_id=order_id, labels=wanted, now=now)
    if taken:
        raise _seats_taken_error(taken)
    try:
        return _change_unless_lapsed(
            order_id,
            now=now,
            actor=actor,
            change=lambda order: _change_selection(order, wanted=wanted, now=now, actor=actor),
        )
    except IntegrityError:
        # The partial unique index caught a second live hold the locks should have prevented.
        raise SeatsTaken("One of these seats was taken at the same moment. Try again.") from None


def cancel_order(
    *, order_id: str, actor: str, reason: str = "cancelled by the traveller", now: dt.datetime | None = None
) -> Order:
    """Cancel an order that has not started paying, releasing its seats."""
    now = now or timezone.now()

    def cancel(order: Order) -> None:
        from_state = order.state
        _transition(order, order.cancel, verb="cancel")
        released = _end_holds(order, now=now, state=HoldState.RELEASED)
        order.hold_expires_at = None
        order.save(update_fields=["state", "hold_expires_at", "updated_at"])
        _record_change(order, action=AuditAction.CANCEL, from_state=from_state, actor=actor, reason=reason)
        publish_seat_changes(flight_code=order.flight.code, available=released)

    return _change_unless_lapsed(order_id, now=now, actor=actor, change=cancel)


# --- operators (the admin's actions) -------------------------------------------------------------


def expire_now(*, order_id: str, actor: str, now: dt.datetime | None = None) -> Order:
    """End an order's hold before its deadline: SEATS_SELECTED -> EXPIRED, seats released."""
    now = now or timezone.now()
    with transaction.atomic():
        order = _lock_order(order_id)
        if order.state != OrderState.SEATS_SELECTED:
            raise WrongState(
                f"Cannot expire: the order is {order.state}; only a held selection can expire.", state=order.state
            )
        _expire_locked(order, now=now, actor=actor, reason="expired by an operator")
    return order


def retry_payment_now(*, order_id: str, actor: str, now: dt.datetime | None = None) -> Order:
    """Hand a payment in PROCESSING_PAYMENT to the workers at once, as if its next step were due.

    The task still keeps the rules: a running attempt within its timeout is left alone, a lost one is
    counted, and no attempt beyond the last is made.
    """
    now = now or timezone.now()
    with transaction.atomic():
        order = _lock_order(order_id)
        if order.state != OrderState.PROCESSING_PAYMENT:
            raise WrongState(f"Cannot retry the payment: the order is {order.state}.", state=order.state)
        order.payment_due_at = now
        order.save(update_fields=["payment_due_at", "updated_at"])
        _record_change(
            order,
            action=AuditAction.RETRY_PAYMENT,
            from_state=order.state,
            actor=actor,
            reason="payment handed to the workers by an operator",
        )
        _enqueue_payment_on_commit(order.pk)
    return order


# --- payment -------------------------------------------------------------------------------------


def submit_payment(*, order_id: str, code: str, actor: str, now: dt.datetime | None = None) -> Order:
    """Start paying for the selected seats: SEATS_SELECTED -> PROCESSING_PAYMENT; a worker makes the attempts.

    From here the hold cannot lapse: the payment's outcome decides.
    """
    if not (len(code) == 5 and code.isascii() and code.isdigit()):
        raise InvalidInput(
            "The payment code is exactly 5 digits, like 12345. No attempt was used.", code="invalid_payment_code"
        )
    now = now or timezone.now()

    def begin(order: Order) -> None:
        if order.state == OrderState.PENDING:
            raise WrongState("Select seats before paying: the order holds none.", state=order.state)
        if order.state == OrderState.PROCESSING_PAYMENT:
            raise WrongState(
                "A payment for this order is already being processed. "
                f"Follow GET /orders/{order.pk}/status for its outcome.",
                state=order.state,
            )
        _transition(order, order.begin_payment, verb="pay")
        SeatHold.objects.filter(order=order, state=HoldState.HELD).update(expires_at=None)
        order.payment_code = code
        order.payment_status = PaymentStatus.TRYING
        order.last_payment_error = ""
        # If the enqueue below is lost (a crash right after commit), the timer loop enqueues it then.
        order.payment_due_at = _lost_after(now)
        order.save(
            update_fields=[
                "state",
                "payment_code",
                "payment_status",
                "last_payment_error",
                "payment_due_at",
                "updated_at",
            ]
        )
        _record_change(
            order,
            action=AuditAction.SUBMIT_PAYMENT,
            from_state=OrderState.SEATS_SELECTED,
            actor=actor,
            reason="payment submitted",
        )
        _enqueue_payment_on_commit(order.pk)

    return _change_unless_lapsed(order_id, now=now, actor=actor, change=begin)


@dataclass(frozen=True)
class AttemptTicket:
    """What a worker needs to make one attempt, handed out by start_payment_attempt."""

    order_id: str
    number: int
    code: str


def start_payment_attempt(*, order_id: str, now: dt.datetime | None = None) -> AttemptTicket | None:
    """Open the next attempt if one is due; None if there is nothing to do (safe for redelivered tasks).

    A running attempt older than timeout + margin lost its worker: it is settled as a failed attempt
    first. A finished failed attempt is followed by the next only once its backoff has passed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        order = _lock_order(order_id)
        if order.state != OrderState.PROCESSING_PAYMENT:
            return None
        last = order.payment_attempts.order_by("-number").first()
        if last is not None and last.outcome == AttemptOutcome.RUNNING:
            if _lost_after(last.started_at) > now:
                return None  # its worker still has time to answer
            _settle_attempt(
                order,
                last,
                ChargeResult(False, AttemptOutcome.LOST, "no answer from the payment worker in time (worker lost)"),
                now=now,
            )
            if order.state != OrderState.PROCESSING_PAYMENT:
                return None
        elif last is not None:
            assert last.finished_at is not None  # every attempt but a running one is finished
            due = last.finished_at + dt.timedelta(seconds=backoff_seconds(last.number))
            if due > now:
                order.payment_due_at = due
                order.save(update_fields=["payment_due_at", "updated_at"])
                return None
        number = order.payment_attempts_used + 1
        PaymentAttempt.objects.create(order=order, number=number, started_at=now)
        order.payment_attempts_used = number
        order.payment_due_at = _lost_after(now)
        order.payment_status = PaymentStatus.TRYING  # "retrying" lasts only while the backoff runs
        order.save(update_fields=["payment_attempts_used", "payment_due_at", "payment_status", "updated_at"])
        _record_change(
            order,
            action=AuditAction.PAYMENT_ATTEMPT,
            from_state=order.state,
            actor="system:payments",
            reason=f"attempt {number} of {settings.PAYMENT_MAX_ATTEMPTS} started",
            details={"attempt": number},
        )
        return AttemptTicket(order_id=order.pk, number=number, code=order.payment_code)


def finish_payment_attempt(
    *, order_id: str, number: int, result: ChargeResult, now: dt.datetime | None = None
) -> Order:
    """Record an attempt's answer: CONFIRMED on success, FAILED after the last failure, else retry later."""
    now = now or timezone.now()
    with transaction.atomic():
        order = _lock_order(order_id)
        attempt = PaymentAttempt.objects.get(order=order, number=number)
        if order.state != OrderState.PROCESSING_PAYMENT or attempt.outcome != AttemptOutcome.RUNNING:
            pass
        elif result.outcome == AttemptOutcome.INTERRUPTED:
            _hand_back_attempt(order, attempt, now=now)
        else:
            _settle_attempt(order, attempt, result, now=now)
        # else it was already settled (counted lost while its worker was stalled): the late answer changes
        # nothing, and the gateway's idempotency key keeps a late success from charging twice.
    return order


def _hand_back_attempt(order: Order, attempt: PaymentAttempt, *, now: dt.datetime) -> None:
    """An attempt cut short by a worker's stop is not the traveller's loss: it is undone and made again
    at once (the timer loop enqueues it), without waiting for the lost-attempt margin. Safe even if the
    gateway got the call: the next attempt has the same idempotency key (the order), so no double charge."""
    started = attempt.started_at
    attempt.delete()
    order.payment_attempts_used = attempt.number - 1
    order.payment_due_at = now
    order.save(update_fields=["payment_attempts_used", "payment_due_at", "updated_at"])
    _record_change(
        order,
        action=AuditAction.PAYMENT_ATTEMPT,
        from_state=order.state,
        actor="system:payments",
        reason=f"attempt {attempt.number} interrupted: its worker was stopping; it runs again now and uses no attempt",
        details={"attempt": attempt.number, "outcome": AttemptOutcome.INTERRUPTED, "started_at": started.isoformat()},
    )


def backoff_seconds(failed_attempt_number: int) -> float:
    """Wait after the n-th failed attempt: initial x multiplier^(n-1), at most the maximum (1 s, 2 s, ...)."""
    wait = settings.PAYMENT_BACKOFF_INITIAL_SECONDS * settings.PAYMENT_BACKOFF_MULTIPLIER ** (failed_attempt_number - 1)
    return min(wait, settings.PAYMENT_BACKOFF_MAX_SECONDS)


# --- the timer loop's batch changes ---------------------------------------------------------------


def expire_lapsed_holds(*, now: dt.datetime | None = None, limit: int = 500) -> list[str]:
    """Expire up to `limit` orders whose hold deadline has passed; returns their ids.

    Rows another transaction holds are skipped (the next tick gets them), so several timer loops can
    run at once. One batch costs the same few statements whatever its size (on PostgreSQL).
    """
    now = now or timezone.now()
    with transaction.atomic():
        orders = list(
            Order.objects.select_related("flight")
            .select_for_update(skip_locked=True, of=("self",))
            .filter(state=OrderState.SEATS_SELECTED, hold_expires_at__lte=now)
            .order_by("hold_expires_at")[:limit]
        )
        if not orders:
            return []
        for order in orders:
            order.expire()  # the state machine checks each one
        ids = [order.pk for order in orders]
        holds = SeatHold.objects.filter(order_id__in=ids, state=HoldState.HELD)
        freed_by_flight: dict[str, list[str]] = {}
        for flight_code, label in holds.values_list("seat__flight__code", "seat__label"):
            freed_by_flight.setdefault(flight_code, []).append(label)
        holds.update(state=HoldState.EXPIRED, ended_at=now)
        Order.objects.filter(pk__in=ids).update(state=OrderState.EXPIRED, updated_at=now)
        AuditEntry.objects.bulk_create(
            AuditEntry(
                order=order,
                action=AuditAction.EXPIRE,
                from_state=OrderState.SEATS_SELECTED,
                to_state=order.state,
                actor="system:timers",
                reason="hold deadline passed",
                details={"late_ms": _late_ms(order, now)},
            )
            for order in orders
        )
        publish_order_statuses([order_status(order=order, seats=[]) for order in orders])
        for order in orders:
            _log_on_commit(
                order,
                action=AuditAction.EXPIRE,
                transition="SEATS_SELECTED->EXPIRED",
                actor="system:timers",
                reason="hold deadline passed",
            )
        for flight_code in sorted(freed_by_flight):
            publish_seat_changes(flight_code=flight_code, available=freed_by_flight[flight_code])
    return ids


def enqueue_due_payments(*, now: dt.datetime | None = None, limit: int = 100) -> list[str]:
    """Hand payments whose next step is due to the workers; returns their order ids.

    Each is claimed by pushing its due time one lease ahead, so the loop does not enqueue it again
    every tick; if the task is lost too, the lease runs out and it is enqueued once more.
    """
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Order.objects.select_for_update(skip_locked=True)
            .filter(state=OrderState.PROCESSING_PAYMENT, payment_due_at__lte=now)
            .order_by("payment_due_at")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Order.objects.filter(pk__in=ids).update(payment_due_at=_lost_after(now))
            for order_id in ids:
                _enqueue_payment_on_commit(order_id)
    return ids


# --- internals -----------------------------------------------------------------------------------


def _check_labels(labels: Sequence[str]) -> list[str]:
    """Domain limits on a selection (the API validates types and format before this)."""
    limit = settings.MAX_SEATS_PER_ORDER
    if len(labels) > limit:
        raise InvalidInput(
            f"An order can hold at most {limit} seats; you asked for {len(labels)}.", code="too_many_seats"
        )
    repeated = sorted(label for label, count in Counter(labels).items() if count > 1)
    if repeated:
        raise InvalidInput(
            f"Each seat may be listed once; repeated: {', '.join(repeated)}.", code="duplicate_seats", seats=repeated
        )
    return list(labels)


def _change_unless_lapsed(order_id: str, *, now: dt.datetime, actor: str, change: Callable[[Order], None]) -> Order:
    """Lock the order and apply `change` to it, unless its hold has lapsed: then expire it (that much is
    committed) and refuse, so that a late request both sees and causes the expiry."""
    with transaction.atomic():
        order = _lock_order(order_id)
        lapsed = _hold_lapsed(order, now)
        if lapsed:
            _expire_locked(order, now=now, actor=actor, reason="hold deadline passed")
        else:
            change(order)
    if lapsed:
        raise _hold_expired_error(order)
    return order


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
    return (
        order.state == OrderState.SEATS_SELECTED and order.hold_expires_at is not None and order.hold_expires_at <= now
    )


def _late_ms(order: Order, now: dt.datetime) -> int:
    """How long after its hold's deadline a lapsed order is expired, in milliseconds."""
    assert order.hold_expires_at is not None  # a lapsed hold has a deadline
    return round((now - order.hold_expires_at).total_seconds() * 1000)


def _hold_expired_error(order: Order) -> HoldExpired:
    ended = f" at {order.hold_expires_at:%Y-%m-%d %H:%M:%S} UTC" if order.hold_expires_at else ""
    return HoldExpired(
        f"The hold on this order's seats ended{ended} and the order has expired. Create a new order to book again.",
        state=OrderState.EXPIRED,
    )


def _transition(order: Order, method: Callable[[], None], *, verb: str) -> None:
    try:
        method()
    except TransitionNotAllowed:
        if order.state == OrderState.EXPIRED:  # the same answer whether or not the timer loop got there first
            raise _hold_expired_error(order) from None
        raise WrongState(f"Cannot {verb}: the order is {order.state}.", state=order.state) from None


def _change_selection(order: Order, *, wanted: list[str], now: dt.datetime, actor: str) -> None:
    from_state = order.state
    _transition(order, order.select_seats if wanted else order.clear_seats, verb="change seats")

    seats = lock_seats(order=order, labels=wanted)
    wanted_seats = [s for s in seats if s.label in set(wanted)]
    unknown = sorted(set(wanted) - {s.label for s in wanted_seats})
    if unknown:
        raise InvalidInput(
            f"Flight {order.flight.code} has no seat {', '.join(unknown)}. "
            f"GET /flights/{order.flight.code} shows its seat map.",
            code="unknown_seats",
            seats=unknown,
        )

    holds = list(SeatHold.objects.filter(seat__in=seats, state__in=(HoldState.HELD, HoldState.CONFIRMED)))
    mine = {h.seat_id: h for h in holds if h.order_id == order.pk}
    others = [h for h in holds if h.order_id != order.pk]
    wanted_ids = {s.pk for s in wanted_seats}
    taken = [h for h in others if h.seat_id in wanted_ids and _counts(h, now)]
    if taken:
        raise _seats_taken_error([s.label for s in wanted_seats if s.pk in {h.seat_id for h in taken}])

    lapsed_of_others = [h.pk for h in others if h.seat_id in wanted_ids]
    if lapsed_of_others:
        SeatHold.objects.filter(pk__in=lapsed_of_others).update(state=HoldState.EXPIRED, ended_at=now)
    dropped = [h.pk for seat_id, h in mine.items() if seat_id not in wanted_ids]
    if dropped:
        SeatHold.objects.filter(pk__in=dropped).update(state=HoldState.RELEASED, ended_at=now)

    expires_at = None
    if wanted:
        order.first_held_at = order.first_held_at or now
        expires_at = min(
            now + dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS),
            order.first_held_at + dt.timedelta(seconds=settings.HOLD_EXTENSION_CAP_SECONDS),
        )
    kept = [h.pk for seat_id, h in mine.items() if seat_id in wanted_ids]
    if kept:
        SeatHold.objects.filter(pk__in=kept).update(expires_at=expires_at)
    new = [s for s in wanted_seats if s.pk not in mine]
    if new:
        SeatHold.objects.bulk_create(SeatHold(order=order, seat=s, expires_at=expires_at) for s in new)

    order.hold_expires_at = expires_at
    order.save(update_fields=["state", "hold_expires_at", "first_held_at", "updated_at"])
    labels = [s.label for s in wanted_seats]
    released = [s.label for s in seats if s.pk in mine and s.pk not in wanted_ids]
    _record_change(
        order,
        action=AuditAction.SELECT_SEATS,
        from_state=from_state,
        actor=actor,
        reason=f"seats {', '.join(labels) or 'none'}",
        details={"seats": labels, "released": released},
        seats=labels,
    )
    publish_seat_changes(flight_code=order.flight.code, available=released, held=[s.label for s in new])


def _visibly_taken(*, order_id: str, labels: list[str], now: dt.datetime) -> list[str]:
    """Wanted seats that another order holds live or has booked, as committed right now, read without locks.

    When many buyers race for one seat, the losers are refused here, without queueing on the seat's lock.
    Refusing on a committed live hold is always right (the seat was taken at that moment); anything this
    read misses, the locked check in _change_selection still catches. It refuses only where the locked
    path would answer seats_taken too: every label exists, and the order may change seats and has not lapsed.
    """
    if not labels:
        return []
    # Hand-written: the hot-seat losers' whole database cost, and the ORM's query building cost more than
    # the query itself here (about 3 ms against 0.3 ms). Only table names are formatted in; values are parameters.
    sql = f"""
        SELECT s.label, EXISTS (
            SELECT 1 FROM {SeatHold._meta.db_table} h
            WHERE h.seat_id = s.id AND h.order_id <> o.id
              AND (h.state = %s OR (h.state = %s AND (h.expires_at IS NULL OR h.expires_at > %s))))
        FROM {Order._meta.db_table} o JOIN {Seat._meta.db_table} s ON s.flight_id = o.flight_id
        WHERE o.id = %s AND s.label IN ({", ".join(["%s"] * len(labels))})
          AND (o.state = %s OR (o.state = %s AND (o.hold_expires_at IS NULL OR o.hold_expires_at > %s)))"""  # noqa: S608
    at = connection.ops.adapt_datetimefield_value(now)  # as the ORM would write it (SQLite compares text)
    params = [
        HoldState.CONFIRMED,
        HoldState.HELD,
        at,
        order_id,
        *labels,
        OrderState.PENDING,
        OrderState.SEATS_SELECTED,
        at,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if len(rows) != len(labels):
        return []
    return sorted_labels(label for label, taken in rows if taken)


def _seats_taken_error(labels: list[str]) -> SeatsTaken:
    many = len(labels) > 1
    return SeatsTaken(
        f"Seat{'s' if many else ''} {', '.join(labels)} {'are' if many else 'is'} already taken. Choose other seats.",
        seats=labels,
    )


def _counts(hold: SeatHold, now: dt.datetime) -> bool:
    """Whether a hold still has its seat at `now` (a lapsed HELD row does not)."""
    return hold.state == HoldState.CONFIRMED or hold.expires_at is None or hold.expires_at > now


def _expire_locked(order: Order, *, now: dt.datetime, actor: str, reason: str) -> None:
    from_state = order.state
    order.expire()
    released = _end_holds(order, now=now, state=HoldState.EXPIRED)
    order.save(update_fields=["state", "updated_at"])
    _record_change(order, action=AuditAction.EXPIRE, from_state=from_state, actor=actor, reason=reason)
    publish_seat_changes(flight_code=order.flight.code, available=released)


def _end_holds(order: Order, *, now: dt.datetime, state: HoldState) -> list[str]:
    """End the order's live holds; returns the labels of the seats that became free."""
    holds = SeatHold.objects.filter(order=order, state=HoldState.HELD)
    labels = list(holds.values_list("seat__label", flat=True))
    if labels:
        holds.update(state=state, ended_at=now)
    return labels


def _record_change(
    order: Order,
    *,
    action: str,
    from_state: str,
    actor: str,
    reason: str = "",
    details: dict[str, Any] | None = None,
    seats: list[str] | None = None,
) -> None:
    """The audit row and the order's status event that every change writes. `seats`, if known, saves a query."""
    AuditEntry.objects.create(
        order=order,
        action=action,
        from_state=from_state,
        to_state=order.state,
        actor=actor,
        reason=reason,
        details=details or {},
    )
    order.published_status = order_status(order=order, seats=seats)
    publish_order_status(order.published_status)
    _log_on_commit(
        order, action=action, transition=f"{from_state or 'none'}->{order.state}", actor=actor, reason=reason
    )


def _log_on_commit(order: Order, *, action: str, transition: str, actor: str, reason: str) -> None:
    """One log line per change, written only if the change commits."""
    fields = {
        "order_id": order.pk,
        "flight": order.flight.code,
        "action": action,
        "transition": transition,
        "actor": actor,
    }
    transaction.on_commit(lambda: log.info("order %s: %s %s (%s)", order.pk, action, transition, reason, extra=fields))


def _lost_after(start: dt.datetime) -> dt.datetime:
    """When work started at `start` counts as lost: the attempt's timeout plus a margin."""
    return start + dt.timedelta(seconds=settings.PAYMENT_TIMEOUT_SECONDS + settings.PAYMENT_LOST_MARGIN_SECONDS)


def _enqueue_payment_on_commit(order_id: str) -> None:
    transaction.on_commit(lambda: queue.enqueue_payment(order_id))


def _settle_attempt(order: Order, attempt: PaymentAttempt, result: ChargeResult, *, now: dt.datetime) -> None:
    attempt.outcome = result.outcome
    attempt.error = result.error[:300]
    attempt.finished_at = now
    attempt.save(update_fields=["outcome", "error", "finished_at"])
    limit = settings.PAYMENT_MAX_ATTEMPTS
    seat_changes = {}
    if result.ok:
        order.confirm()
        holds = SeatHold.objects.filter(order=order, state=HoldState.HELD)
        seat_changes["confirmed"] = list(holds.values_list("seat__label", flat=True))
        holds.update(state=HoldState.CONFIRMED)
        order.payment_status, order.last_payment_error = PaymentStatus.SUCCESS, ""
        action, reason = AuditAction.CONFIRM, f"attempt {attempt.number} succeeded"
    elif attempt.number >= limit:
        order.fail()
        seat_changes["available"] = _end_holds(order, now=now, state=HoldState.RELEASED)
        failures = "; ".join(
            f"attempt {a.number}: {a.error or a.outcome}" for a in order.payment_attempts.order_by("number")
        )
        order.payment_status = PaymentStatus.FAILED
        order.last_payment_error = f"Payment failed after {attempt.number} attempts ({failures}). Seats released."
        action, reason = AuditAction.FAIL, f"attempt {attempt.number} of {limit} failed: {result.outcome}"
    else:
        wait = backoff_seconds(attempt.number)
        order.payment_status = PaymentStatus.RETRYING
        order.last_payment_error = (
            f"Attempt {attempt.number} of {limit} failed: {result.error or result.outcome}. Retrying in {wait:g} s."
        )
        order.payment_due_at = now + dt.timedelta(seconds=wait)
        action, reason = AuditAction.PAYMENT_ATTEMPT, f"attempt {attempt.number} of {limit} failed: {result.outcome}"
    if order.state != OrderState.PROCESSING_PAYMENT:
        order.payment_code, order.payment_due_at = "", None
    order.save(
        update_fields=["state", "payment_status", "last_payment_error", "payment_code", "payment_due_at", "updated_at"]
    )
    _record_change(
        order,
        action=action,
        from_state=OrderState.PROCESSING_PAYMENT,
        actor="system:payments",
        reason=reason,
        details={"attempt": attempt.number, "outcome": result.outcome, "error": result.error},
        seats=seat_changes.get("confirmed"),
    )
    publish_seat_changes(flight_code=order.flight.code, **seat_changes)
