"""Reads about orders. The status object is the contract's: keys as the original system named them."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypedDict

from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.statement import bound_cursor
from flights.fares import fares_of, money
from flights.models import Flight, Seat
from inventory.events import sorted_labels
from inventory.models import HoldState, SeatHold, live_sql
from inventory.selectors import held_seat_labels
from orders.client_limits_sql import holds_locks_sql
from orders.models import (
    OPEN_STATES,
    AttemptOutcome,
    AuditAction,
    AuditEntry,
    BookingChange,
    Order,
    OrderState,
    PaymentAttempt,
    Refund,
)


class PassengerJSON(TypedDict):
    seat: str
    firstName: str
    lastName: str


class ChangeJSON(TypedDict):
    """A confirmed booking's seat change: the one in progress, else the last one (DONE or UNDONE)."""

    State: str  # CHARGING, DONE, UNDONE
    SeatsBefore: list[str]
    SeatsAfter: list[str]
    Difference: str  # what it costs (negative: refunded), in the order's currency
    AttemptsLeft: int
    LastError: str


class RefundJSON(TypedDict):
    """The booking's last refund (a cancellation, a cheaper seat change, a late payment paid back)."""

    State: str  # PENDING, PAID, FAILED
    Amount: str
    Fee: str
    Currency: str
    CreditNote: str
    Seats: list[str]
    Reason: str


class OrderStatus(TypedDict):
    """The status object: GET /orders/{id}/status, and each event of the order's channel (unnamed)."""

    OrderID: str
    FlightID: str
    State: str
    Seats: list[str]
    HoldExpiresAt: str | None
    AttemptsLeft: int
    LastPaymentErr: str
    PaymentStatus: str
    # Keys beyond the original's (new keys only): the price of the seats and its currency, the booking reference
    # (CONFIRMED), the passengers of the held seats and the contact email.
    Total: str
    Currency: str
    Reference: str
    Passengers: list[PassengerJSON]
    ContactEmail: str
    # After booking: the seat change in progress or last made, and the last refund; null when none.
    Change: ChangeJSON | None
    Refund: RefundJSON | None


def effective_state(order: Order, now: dt.datetime) -> str:
    """The state as the rules see it: a hold past its deadline is EXPIRED, sweeper or not."""
    if order.hold_lapsed(now):
        return OrderState.EXPIRED
    state: str = order.state  # django-fsm types FSMField values as Any
    return state


def order_status(*, order: Order, now: dt.datetime | None = None, seats: list[str] | None = None) -> OrderStatus:
    """The status object. Pass `seats` when the caller already knows them, to save the query."""
    now = now or timezone.now()
    state = effective_state(order, now)
    if state not in (OrderState.SEATS_SELECTED, OrderState.PROCESSING_PAYMENT, OrderState.CONFIRMED):
        seats = []
    elif seats is None:
        seats = held_seat_labels(order_id=order.pk, booked_only=state == OrderState.CONFIRMED)
    labels = sorted_labels(seats)
    change, refund = after_booking(order, state=state)
    return {
        "OrderID": order.pk,
        "FlightID": order.flight.code,
        "State": state,
        "Seats": labels,
        "HoldExpiresAt": _iso(order.hold_expires_at),
        "AttemptsLeft": max(0, settings.PAYMENT_MAX_ATTEMPTS - order.payment_attempts_used),
        "LastPaymentErr": order.last_payment_error,
        "PaymentStatus": order.payment_status,
        "Total": money(order_total(order, state=state, seats=labels)),
        "Currency": order.currency or order.flight.currency,
        "Reference": order.reference or "",
        "Passengers": passengers_of(order, seats=labels),
        "ContactEmail": order.contact_email,
        "Change": change,
        "Refund": refund,
    }


# The states in which an order may have a seat change or a refund (a late payment refunded: a failed one).
_AFTER_BOOKING_STATES = (OrderState.CONFIRMED, OrderState.CANCELLED, OrderState.FAILED)


def after_booking(order: Order, *, state: str) -> tuple[ChangeJSON | None, RefundJSON | None]:
    """The status object's Change and Refund: read only for orders that can have them, ones that started
    paying (an amount was fixed), so that the timer loop's expiry batches cost no more per order."""
    if state not in _AFTER_BOOKING_STATES or order.amount is None:
        return None, None
    change = BookingChange.objects.filter(order_id=order.pk).order_by("-created_at", "-id").first()
    refund = Refund.objects.filter(order_id=order.pk).order_by("-created_at", "-id").first()
    return (change_json(change) if change else None), (refund_json(refund) if refund else None)


def change_json(change: BookingChange) -> ChangeJSON:
    return {
        "State": change.state,
        "SeatsBefore": change.seats_before,
        "SeatsAfter": change.seats_after,
        "Difference": money(change.difference),
        "AttemptsLeft": max(0, settings.PAYMENT_MAX_ATTEMPTS - len(change.attempts)),
        "LastError": change.last_error,
    }


def refund_json(refund: Refund) -> RefundJSON:
    return {
        "State": refund.state,
        "Amount": money(refund.amount),
        "Fee": money(refund.fee),
        "Currency": refund.currency,
        "CreditNote": refund.credit_note,
        "Seats": refund.seats,
        "Reason": refund.reason,
    }


def confirmed_at(order: Order) -> dt.datetime | None:
    """When the order was confirmed (its payment, or a late payment kept), from its audit trail."""
    return (
        AuditEntry.objects.filter(order_id=order.pk, action__in=[AuditAction.CONFIRM, AuditAction.LATE_PAYMENT])
        .filter(to_state=OrderState.CONFIRMED)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def order_total(order: Order, *, state: str, seats: list[str]) -> Decimal:
    """What the seats cost: the amount fixed when the payment started, or else their frozen prices."""
    if order.amount is not None and state in (OrderState.PROCESSING_PAYMENT, OrderState.CONFIRMED):
        return order.amount
    return fares_of(order.flight).frozen_total(seats, order.seat_prices or {})


def passengers_of(order: Order, *, seats: list[str]) -> list[PassengerJSON]:
    """The named passengers of the seats the order has now, in seat-map order (names given for seats
    since let go are left out)."""
    by_seat = {p["seat"]: p for p in order.passengers or []}
    return [
        {"seat": s, "firstName": by_seat[s]["firstName"], "lastName": by_seat[s]["lastName"]}
        for s in seats
        if s in by_seat
    ]


def waiting_passengers(order: Order, *, seats: list[str]) -> list[PassengerJSON]:
    """The names given for seats the order no longer has (let go, or taken meanwhile before it was held
    again), in the order given: each fills the next held seat still without a name on the passenger form,
    so a traveller who moves a passenger to another seat never types the name twice. Saving the form
    replaces them all."""
    return [p for p in order.passengers or [] if p["seat"] not in seats]


def last_seats(order: Order) -> list[str]:
    """The seats of the order's last selection, in seat-map order, also once it ended and let them go: each
    keeps its frozen price (`seat_prices`) until the selection changes, whatever the order's end."""
    return sorted_labels(list(order.seat_prices or {}))


def get_order(*, order_id: str) -> Order:
    return Order.objects.select_related("flight").get(pk=order_id)


def get_order_status(*, order_id: str) -> OrderStatus:
    """The status object of the order `order_id` (Order.DoesNotExist if none): one statement on PostgreSQL,
    since every poll and every stream's start reads it."""
    if connection.vendor != "postgresql":
        return order_status(order=get_order(order_id=order_id))
    order, seats = fetch_order(order_id=order_id, seats=True)
    if order is None:
        raise Order.DoesNotExist(order_id)
    return order_status(order=order, seats=seats)


_ORDER_COLUMNS = [f.attname for f in Order._meta.concrete_fields]
_FLIGHT_COLUMNS = [f.attname for f in Flight._meta.concrete_fields]
_ORDER_AND_FLIGHT = ", ".join([f"o.{c}" for c in _ORDER_COLUMNS] + [f"f.{c}" for c in _FLIGHT_COLUMNS])
# Columns whose database value the ORM converts (JSON: psycopg hands Django's connections jsonb as text).
_CONVERTED = [
    (i, field)
    for i, field in enumerate([*Order._meta.concrete_fields, *Flight._meta.concrete_fields])
    if hasattr(field, "from_db_value")
]


def fetch_order(
    *, order_id: str, lock: bool = False, seats: bool = False, lock_client: bool = False
) -> tuple[Order | None, list[str] | None]:
    """PostgreSQL only: the order with its flight, locked if `lock` (the flight only read), and with `seats`
    the labels of the seats it holds or has booked; (None, None) if there is no such order. `lock_client`
    (a seat change) also takes its client's advisory locks on the flight (orders/client_limits_sql.py), in
    the same statement.

    Hand-written: every change of an order and every status read starts here, and building the ORM's
    query cost more CPU than running it. PostgreSQL's values need no conversion (psycopg gives aware
    datetimes, as the ORM would) but JSON's, converted as the ORM does."""
    columns = [_ORDER_AND_FLIGHT]
    if seats:
        columns.append(
            f"ARRAY(SELECT s.label FROM {SeatHold._meta.db_table} h JOIN {Seat._meta.db_table} s ON s.id = h.seat_id "
            f"WHERE h.order_id = o.id AND h.state IN ('{HoldState.HELD}', '{HoldState.CONFIRMED}') "
            # A confirmed booking's seats are its booked ones (a change of them holds others meanwhile).
            f"AND (o.state <> '{OrderState.CONFIRMED}' OR h.state = '{HoldState.CONFIRMED}'))"
        )
    if lock_client:
        columns.append(holds_locks_sql("o"))  # last: their values are not read
    sql = (
        f"SELECT {', '.join(columns)} FROM {Order._meta.db_table} AS o "
        f"JOIN {Flight._meta.db_table} AS f ON f.id = o.flight_id WHERE o.id = %s{' FOR UPDATE OF o' if lock else ''}"
    )
    with bound_cursor() as cursor:
        cursor.execute(sql, [order_id])
        row = cursor.fetchone()
    if row is None:
        return None, None
    end = len(_ORDER_COLUMNS) + len(_FLIGHT_COLUMNS)
    return _order_from_row(row[:end]), (list(row[end]) if seats else None)


def _order_from_row(values: Sequence[Any]) -> Order:
    """The order, with its flight, from the values of _ORDER_AND_FLIGHT's columns."""
    row = list(values)
    if _CONVERTED:
        for i, field in _CONVERTED:
            row[i] = field.from_db_value(row[i], None, connection)
    split = len(_ORDER_COLUMNS)
    order = Order.from_db(connection.alias, _ORDER_COLUMNS, row[:split])
    Order.flight.field.set_cached_value(order, Flight.from_db(connection.alias, _FLIGHT_COLUMNS, row[split:]))
    return order


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class OrderKeys:
    """What decides who may reach an order (orders/access.py): the hash of its token, for a booking token
    its reference and link version, and for how long either still opens it: its state, last change and
    hold deadline (when it ended) and its flight's departure."""

    token_hash: str
    reference: str | None
    booking_link_version: int
    state: str
    updated_at: dt.datetime
    hold_expires_at: dt.datetime | None
    departs_at: dt.datetime

    def __post_init__(self) -> None:  # SQLite's raw rows give datetimes as text
        for name in ("updated_at", "hold_expires_at", "departs_at"):
            object.__setattr__(self, name, _aware(getattr(self, name)))


def _aware(value: Any) -> dt.datetime | None:
    if value is None or (isinstance(value, dt.datetime) and value.tzinfo is not None):
        return value
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed


@dataclass(frozen=True)
class BeforeSeatChange:
    """What one statement tells a seat change before it changes anything (`read_before_seat_change`)."""

    keys: OrderKeys
    taken: list[str]  # wanted seats visibly taken by another order; [] where the early refusal does not apply


_KEY_COLUMNS = ("token_hash", "reference", "booking_link_version", "state", "updated_at", "hold_expires_at")


def _key_columns(alias: str) -> str:
    """OrderKeys' fields, in order, of the order `alias`: its own columns and its flight's departure."""
    departs = f"(SELECT f.departs_at FROM {Flight._meta.db_table} f WHERE f.id = {alias}.flight_id)"
    return ", ".join([*(f"{alias}.{column}" for column in _KEY_COLUMNS), departs])


def order_keys(*, order_id: str) -> OrderKeys | None:
    """The order's keys; None if there is no such order."""
    # Hand-written: every call on an order starts here (the ORM's query building cost more than the query).
    with bound_cursor() as cursor:
        cursor.execute(
            f"SELECT {_key_columns('o')} FROM {Order._meta.db_table} o WHERE o.id = %s",
            [order_id],
        )
        row = cursor.fetchone()
    return OrderKeys(*row) if row else None


def read_before_seat_change(*, order_id: str, labels: list[str], now: dt.datetime) -> BeforeSeatChange | None:
    """In one statement, without locks: the order's keys (None: no such order), and the wanted seats that
    another order holds live or has booked, as committed at `now`.

    When many buyers race for one seat, the losers are refused on this read alone, without a transaction.
    Refusing on a committed live hold is always right (the seat was taken at that moment); anything this
    read misses, the change itself still catches. Seats count as taken only where the locked path would
    answer seats_taken too: every label exists, and the order may change seats and has not lapsed.
    """
    # Hand-written: the hot-seat losers' whole database cost, and the ORM's query building cost more than
    # the query itself here. Only table names are formatted in; values are parameters.
    wanted = f"s.label IN ({', '.join(['%s'] * len(labels))})" if labels else "1 = 0"
    may_change, may_change_params = may_change_seats_sql("o", now)
    sql = f"""
        SELECT {_key_columns("o")}, {may_change}, s.label,
            EXISTS (SELECT 1 FROM {SeatHold._meta.db_table} h WHERE h.seat_id = s.id AND h.order_id <> o.id AND {live_sql("h")})
        FROM {Order._meta.db_table} o
        LEFT JOIN {Seat._meta.db_table} s ON s.flight_id = o.flight_id AND {wanted}
        WHERE o.id = %s"""
    with bound_cursor() as cursor:
        cursor.execute(sql, [*may_change_params, connection.ops.adapt_datetimefield_value(now), *labels, order_id])
        rows = cursor.fetchall()
    if not rows:
        return None
    *keys, may = rows[0][: len(_KEY_COLUMNS) + 2]
    found = [(label, taken) for *_, label, taken in rows if label is not None]
    applies = may and len(found) == len(labels)
    return BeforeSeatChange(
        keys=OrderKeys(*keys), taken=sorted_labels(label for label, taken in found if taken) if applies else []
    )


def may_change_seats_sql(alias: str, now: dt.datetime) -> tuple[str, list[Any]]:
    """SQL (and its parameters) that is true where the order `alias` may change its seats at `now`: its
    state is one of OPEN_STATES and its hold has not lapsed (`Order.hold_lapsed`), built from the same
    names; tests/orders/test_rules.py checks that the two agree."""
    at = connection.ops.adapt_datetimefield_value(now)  # as the ORM would write it (SQLite compares text)
    states = ", ".join(["%s"] * len(OPEN_STATES))
    sql = (
        f"({alias}.state IN ({states}) AND NOT ({alias}.state = %s AND COALESCE({alias}.hold_expires_at <= %s, FALSE)))"
    )
    return sql, [*OPEN_STATES, OrderState.SEATS_SELECTED, at]


def unanswered_payment_attempts(*, now: dt.datetime | None = None, limit: int = 50) -> list[tuple[Order, int]]:
    """The payment attempts that got no answer (timed out, or the gateway broke) within
    LATE_PAYMENT_WINDOW_SECONDS, the latest first, of orders no longer paying: where the gateway may have
    taken money after all. Those whose late charge was settled already (kept or refunded) are left out."""
    now = now or timezone.now()
    since = now - dt.timedelta(seconds=settings.LATE_PAYMENT_WINDOW_SECONDS)
    attempts = (
        PaymentAttempt.objects.filter(
            finished_at__gte=since, outcome__in=[AttemptOutcome.TIMEOUT, AttemptOutcome.ERROR]
        )
        .exclude(order__state=OrderState.PROCESSING_PAYMENT)
        .select_related("order", "order__flight")
        .order_by("-finished_at")
    )
    settled = set(
        AuditEntry.objects.filter(action=AuditAction.LATE_PAYMENT, created_at__gte=since).values_list(
            "order_id", "details__attempt"
        )
    )
    return [(a.order, a.number) for a in attempts[:limit] if (a.order_id, a.number) not in settled]
