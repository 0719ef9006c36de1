"""An order's seat selection: the domain limits, the hold's deadline, and the early refusal of seats
visibly taken; the holds themselves are the inventory's (inventory/services.py, docs/locking.md)."""

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from functools import partial

from django.conf import settings
from django.db import connection

from core.errors import Conflict, InvalidInput
from flights.fares import fares_of
from flights.layout import check_seat_labels
from flights.models import Flight
from inventory import holds_sql
from inventory import selectors as inventory_selectors
from inventory import services as inventory
from inventory.best_seats import Layout, choose_best, choose_in_cheapest_zone
from inventory.events import publish_seat_changes, sorted_labels
from orders.models import AuditAction, Order
from orders.selectors import OrderStatus, order_status
from orders.services import client_limits, seat_change_sql
from orders.services.common import audit_entry, log_on_commit, record_change, transition


def check_labels(labels: Sequence[str]) -> list[str]:
    """Domain limits on a selection: well-formed labels (flights/layout.py, as every door checks them
    first), at most the seat limit, each once."""
    check_seat_labels(list(labels))
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


# The order's columns a seat change writes, on either path.
SEAT_CHANGE_FIELDS = ("state", "hold_expires_at", "first_held_at", "seat_prices", "currency", "updated_at")


def change_selection(order: Order, *, wanted: list[str], now: dt.datetime, actor: str) -> OrderStatus:
    """Make `wanted` the locked order's whole selection: the holds, the order row, the audit row and both
    events. On PostgreSQL all of it is one statement (seat_change_sql.py: the gain is measured in
    docs/performance.md); elsewhere, and with SEAT_CHANGE_ONE_STATEMENT off, the ORM's statements."""
    from_state = order.state
    transition(order, order.select_seats if wanted else order.clear_seats, verb="change seats")
    _set_hold_and_prices(order, wanted=wanted, now=now)
    if connection.vendor == "postgresql" and settings.SEAT_CHANGE_ONE_STATEMENT:
        labels = sorted_labels(wanted)
        status = order_status(order=order, now=now, seats=labels)
        audit = audit_entry(
            order,
            action=AuditAction.SELECT_SEATS,
            from_state=from_state,
            actor=actor,
            reason=_reason(labels),
            details={"seats": labels},  # and "released", which the statement knows
        )
        seat_change_sql.change_in_one_statement(
            order,
            wanted=wanted,
            fields=SEAT_CHANGE_FIELDS,
            audit=audit,
            status=status,
            now=now,
            client_check=partial(client_limits.held_seats_in, order=order, wanted=len(wanted), now=now),
        )
        log_on_commit(order, action=AuditAction.SELECT_SEATS, from_state=from_state, actor=actor, reason=audit.reason)
        return status
    client_limits.check_held_seats(order, wanted=len(wanted), now=now)
    selection = inventory.hold_seats(
        holder=order.pk, flight=order.flight, labels=wanted, expires_at=order.hold_expires_at, now=now
    )
    order.save(update_fields=SEAT_CHANGE_FIELDS)
    status = record_change(
        order,
        action=AuditAction.SELECT_SEATS,
        from_state=from_state,
        actor=actor,
        reason=_reason(selection.labels),
        details={"seats": selection.labels, "released": selection.released},
        seats=selection.labels,
    )
    publish_seat_changes(flight_code=order.flight.code, available=selection.released, held=selection.new)
    return status


def _set_hold_and_prices(order: Order, *, wanted: list[str], now: dt.datetime) -> None:
    """The hold's new deadline (one for all seats, capped from the first hold) and each seat's price,
    frozen when first held: the price the traveller saw is the one paid."""
    expires_at = None
    if wanted:
        order.first_held_at = order.first_held_at or now
        expires_at = min(
            now + dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS),
            order.first_held_at + dt.timedelta(seconds=settings.HOLD_EXTENSION_CAP_SECONDS),
        )
    order.hold_expires_at = expires_at
    fares = fares_of(order.flight)
    order.seat_prices = fares.freeze(wanted, earlier=order.seat_prices or {}, currency=order.currency)
    order.currency = fares.currency if wanted else ""


class NotEnoughSeats(Conflict):
    code = "not_enough_seats"


def check_best_count(count: int) -> int:
    """How many seats the server may choose at once: 1 to the seat limit."""
    if not 1 <= count <= settings.MAX_SEATS_PER_ORDER:
        raise InvalidInput(
            f"Ask for 1-{settings.MAX_SEATS_PER_ORDER} seats; you asked for {count}.", code="too_many_seats"
        )
    return count


def best_free_seats(order: Order, *, count: int, zone: str | None, now: dt.datetime) -> list[str]:
    """The `count` best seats free for the locked order (its own count as free), within `zone` if given;
    raises NotEnoughSeats naming the shortfall when fewer are free."""
    flight = order.flight
    zone = check_zone(flight, zone)
    holds_sql.take_turns_choosing(flight=flight)
    free = inventory_selectors.free_seat_labels(flight=flight, holder=order.pk, now=now)
    return choose_seats(flight, free=free, count=count, zone=zone)


def check_zone(flight: Flight, zone: str | None) -> str | None:
    """The flight's zone called `zone` in any case (None: any zone); InvalidInput naming its zones if none."""
    if zone is None:
        return None
    fares = fares_of(flight)
    named = fares.zone_named(zone)
    if named is None:
        raise InvalidInput(
            f"Flight {flight.code} has no cabin zone {zone!r}; its zones: {', '.join(fares.zone_names())}.",
            code="invalid_zone",
        )
    return named


def choose_seats(flight: Flight, *, free: list[str], count: int, zone: str | None) -> list[str]:
    """The `count` best of the `free` seats (inventory/best_seats.py): within `zone` (checked) if given,
    else in the cheapest zone where they sit together; raises NotEnoughSeats when fewer are free. What
    holding them and proposing them share."""
    fares = fares_of(flight)
    layout = Layout(rows=flight.rows, letters=flight.letters, aisles_after=flight.aisles_after)
    if zone is None:
        rows = None
        zones = [zone_rows for name in fares.zone_names() if (zone_rows := fares.rows_of_zone(name))]
        zones.sort(key=lambda zone_rows: (fares.zone_of_row(min(zone_rows))[1], min(zone_rows)))  # cheapest first
        chosen = choose_in_cheapest_zone(layout, free, count, zones)
    else:
        rows = fares.rows_of_zone(zone)
        chosen = choose_best(layout, free, count, rows=rows)
    if not chosen:
        available = len([label for label in free if rows is None or int(label[:-1]) in rows])
        where = f" in zone {zone}" if zone else ""
        raise NotEnoughSeats(
            f"Only {available} seat{'s' if available != 1 else ''} {'are' if available != 1 else 'is'} free{where} "
            f"on flight {flight.code}; you asked for {count} ({count - available} short). Ask for fewer"
            f"{' or another zone' if zone else ''}.",
            requested=count,
            free=available,
            short=count - available,
        )
    return chosen


def _reason(labels: list[str]) -> str:
    return f"seats {', '.join(labels) or 'none'}"
