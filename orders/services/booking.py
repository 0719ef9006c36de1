"""The traveller's changes: create an order, select its seats, cancel it."""

import datetime as dt
import secrets
from collections.abc import Sequence
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_fsm import can_proceed

from core.errors import Conflict
from core.languages import supported_language
from flights.selectors import get_flight
from inventory import services as inventory
from inventory.events import publish_seat_changes
from inventory.services import SeatsTaken
from orders import selectors
from orders.access import hash_token
from orders.clients import ClientKeys
from orders.models import AuditAction, Order
from orders.selectors import BeforeSeatChange, OrderStatus
from orders.services import client_limits, seats
from orders.services.common import (
    OrderChange,
    change_unless_lapsed,
    record_change,
    transition,
)


def new_order_id() -> str:
    # 128 random bits: an id the server makes cannot be guessed.
    return f"o-{secrets.token_urlsafe(16)}"


def create_order(
    *,
    flight_code: str,
    order_id: str | None = None,
    actor: str,
    token: str | None = None,
    client: ClientKeys | None = None,
    language: str = "",
) -> tuple[Order, str]:
    """Create a PENDING order; returns it with its bearer token, which is shown only this once.

    `token`: one the caller derived (from an Idempotency-Key, or from the browser session); else a random
    one. The same create repeated by its caller (the same order id, flight and derived token: a retried
    request, a page that creates twice) returns the order it made (as it is now: nothing is changed), as
    the original system answered a repeated create. `client`: who asks (orders/clients.py; None for staff
    and the service's own callers), refused past its limit of open orders and recorded on the order for
    the limit on the seats it holds (client_limits.py). `language`: the one its confirmation email speaks.
    """
    flight = get_flight(code=flight_code)
    order_id = order_id or new_order_id()
    token = token or secrets.token_urlsafe(32)
    token_hash = hash_token(token)
    keys = {"client_address": client.address, "client_session": client.session} if client else {}
    try:
        with transaction.atomic():
            client_limits.check_open_orders(client, now=timezone.now())
            order = Order.objects.create(
                id=order_id, flight=flight, token_hash=token_hash, language=supported_language(language), **keys
            )
            record_change(
                order, action=AuditAction.CREATE, from_state="", actor=actor, reason=f"order created on {flight.code}"
            )
    except (IntegrityError, client_limits.ClientOrderLimit) as exc:
        made_before = Order.objects.filter(pk=order_id, flight=flight, token_hash=token_hash).first()
        if made_before is not None:
            return made_before, token
        if isinstance(exc, client_limits.ClientOrderLimit):
            raise
        raise Conflict(
            f"The order id {order_id!r} is already taken. Choose another or omit orderID to let the server make one.",
            code="order_id_taken",
        ) from None
    return order, token


def select_seats(
    *,
    order_id: str,
    labels: Sequence[str],
    actor: str,
    now: dt.datetime | None = None,
    before: BeforeSeatChange | None = None,
) -> OrderChange:
    """Make `labels` the order's whole selection, all or nothing, each seat held until now + hold time.

    Seats no longer wanted are released; kept and new seats share one new deadline; an empty selection
    returns the order to PENDING. Seats live-held or booked by another order are refused, naming them:
    first on the early read (orders.selectors.read_before_seat_change, without a lock: a hot seat's losers
    cost one read), then under the order's lock (docs/locking.md). `before`: that read, if the caller made
    it at `now` (the lean path reads it with the token check).
    """
    assert before is None or now is not None, "the early read was made at a moment: pass it as `now`"
    wanted = seats.check_labels(labels)
    now = now or timezone.now()
    if before is None:
        before = selectors.read_before_seat_change(order_id=order_id, labels=wanted, now=now)
    if before is not None and before.taken:
        raise inventory.seats_taken_error(before.taken)
    try:
        return change_unless_lapsed(
            order_id,
            now=now,
            actor=actor,
            change=lambda order: seats.change_selection(order, wanted=wanted, now=now, actor=actor),
            seat_change=True,
        )
    except IntegrityError:
        # The partial unique index caught a second live hold the locks should have prevented.
        raise SeatsTaken("One of these seats was taken at the same moment. Try again.") from None


def select_best_seats(
    *, order_id: str, count: int, zone: str | None = None, actor: str, now: dt.datetime | None = None
) -> OrderChange:
    """Let the server choose: make the `count` best free seats the order's whole selection (inventory/
    best_seats.py), within the cabin zone `zone` if given; all or nothing, like select_seats. The seats are
    read and held under the order's lock; a seat another order takes meanwhile makes it choose again. With
    no zone, the cheapest zone where they sit together (orders/services/seats.py choose_seats)."""
    seats.check_best_count(count)
    for attempt in range(1, BEST_SEATS_ATTEMPTS + 1):
        at = now if (attempt == 1 and now) else timezone.now()
        try:
            return change_unless_lapsed(
                order_id,
                now=at,
                actor=actor,
                change=partial(_choose_and_hold, count=count, zone=zone, now=at, actor=actor),
                seat_change=True,
            )
        except SeatsTaken:
            if attempt == BEST_SEATS_ATTEMPTS:
                raise SeatsTaken("Other travellers are taking these seats right now. Try again.") from None
    raise AssertionError("unreachable")


def _choose_and_hold(order: Order, *, count: int, zone: str | None, now: dt.datetime, actor: str) -> OrderStatus:
    if not can_proceed(order.select_seats):  # refused for its state before anything is chosen
        transition(order, order.select_seats, verb="change seats")
    wanted = seats.best_free_seats(order, count=count, zone=zone, now=now)
    return seats.change_selection(order, wanted=wanted, now=now, actor=actor)


# Choosing again after losing a chosen seat to another order (rare: it took the seat between our read and write).
BEST_SEATS_ATTEMPTS = 3


def cancel_order(
    *, order_id: str, actor: str, reason: str = "cancelled by the traveller", now: dt.datetime | None = None
) -> OrderChange:
    """Cancel an order that has not started paying, releasing its seats."""
    now = now or timezone.now()

    def cancel(order: Order) -> OrderStatus:
        from_state = order.state
        transition(order, order.cancel, verb="cancel")
        released = inventory.release_holds(holder=order.pk, now=now)
        order.hold_expires_at = None
        order.save(update_fields=["state", "hold_expires_at", "updated_at"])
        status = record_change(order, action=AuditAction.CANCEL, from_state=from_state, actor=actor, reason=reason)
        publish_seat_changes(flight_code=order.flight.code, available=released)
        return status

    return change_unless_lapsed(order_id, now=now, actor=actor, change=cancel)
