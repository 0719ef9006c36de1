"""An order's seat selection: the domain limits, the hold's deadline, and the early refusal of seats
visibly taken; the holds themselves are the inventory's (inventory/services.py, docs/locking.md)."""

import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence

from django.conf import settings
from django.db import connection
from django_fsm import can_proceed

from core.errors import Conflict, InvalidInput
from core.events.publishing import publish_in
from core.metrics import SEAT_CHANGES_UNDONE
from core.statement import OneStatement, Undone, only_if
from flights.fares import fares_of
from inventory import selectors as inventory_selectors
from inventory import services as inventory
from inventory.best_seats import Layout, choose_best
from inventory.events import (
    flight_channel,
    labels_json_sql,
    publish_seat_changes,
    seat_changes_source_sql,
    sorted_labels,
)
from orders.events import order_channel
from orders.models import AuditAction, AuditEntry, Order
from orders.selectors import BeforeSeatChange, OrderStatus, order_status, read_before_seat_change
from orders.services.common import OrderChange, hold_lapsed, log_on_commit, record_change, transition


def check_labels(labels: Sequence[str]) -> list[str]:
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


# On PostgreSQL a seat change is one statement; the tests switch this off to compare it with the ORM's path.
ONE_STATEMENT = True


def change_selection(
    order: Order, *, wanted: list[str], now: dt.datetime, actor: str, unchanged_since: str | None = None
) -> OrderStatus:
    """Make `wanted` the locked order's whole selection: the holds, the order row, the audit row and both
    events. On PostgreSQL all of it is one statement (the hot path: README, Performance); elsewhere the
    ORM's statements, one per write.

    `unchanged_since` (PostgreSQL, outside a transaction): `order` is not locked but was read at this row
    version; the statement locks it first and is undone (`Undone`) unless it is still at that version, or
    if the change is refused (`change_if_unchanged`)."""
    from_state = order.state
    transition(order, order.select_seats if wanted else order.clear_seats, verb="change seats")
    expires_at = None
    if wanted:
        order.first_held_at = order.first_held_at or now
        expires_at = min(
            now + dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS),
            order.first_held_at + dt.timedelta(seconds=settings.HOLD_EXTENSION_CAP_SECONDS),
        )
    order.hold_expires_at = expires_at
    # The price the traveller saw is the one paid: each seat's price frozen when it is first held.
    fares = fares_of(order.flight)
    order.seat_prices = fares.freeze(wanted, earlier=order.seat_prices or {}, currency=order.currency)
    order.currency = fares.currency if wanted else ""
    if connection.vendor == "postgresql" and ONE_STATEMENT:
        return _change_in_one_statement(
            order, wanted=wanted, from_state=from_state, now=now, actor=actor, unchanged_since=unchanged_since
        )
    assert unchanged_since is None, "a change on a row version is one statement"
    selection = inventory.hold_seats(
        holder=order.pk, flight=order.flight, labels=wanted, expires_at=expires_at, now=now
    )
    order.save(update_fields=["state", "hold_expires_at", "first_held_at", "seat_prices", "currency", "updated_at"])
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


def _change_in_one_statement(
    order: Order, *, wanted: list[str], from_state: str, now: dt.datetime, actor: str, unchanged_since: str | None
) -> OrderStatus:
    """`change_selection`'s writes as one PostgreSQL statement (core/statement.py), after the order's lock,
    or taking it itself (`unchanged_since`)."""
    statement = OneStatement()
    guard = None
    if unchanged_since is not None:
        # The order's lock comes first, as on the locked path (docs/locking.md): every write below waits
        # for this part. A change committed meanwhile, even one this lock waited for, changed xmin.
        guard = statement.part(
            "order_unchanged",
            f"SELECT id FROM {Order._meta.db_table} WHERE id = %s AND {UNCHANGED_SQL} FOR UPDATE",  # noqa: S608
            order.pk,
            unchanged_since,
        )
        statement.undo_if(f"NOT EXISTS (SELECT 1 FROM {guard})")  # noqa: S608 - a part's name
    only = only_if(guard)
    holds = inventory.hold_seats_in(
        statement,
        holder=order.pk,
        flight=order.flight,
        labels=wanted,
        expires_at=order.hold_expires_at,
        now=now,
        only_if=guard,
    )
    if guard:
        statement.undo_if(holds.refused)  # the locked path's transaction rolls back instead
    order.updated_at = now
    statement.part(
        "order_saved",
        f"UPDATE {Order._meta.db_table} SET state = %s, hold_expires_at = %s, first_held_at = %s, "  # noqa: S608 - table names only
        f"seat_prices = %s::jsonb, currency = %s, updated_at = %s WHERE id = %s{only} RETURNING id",
        order.state,
        order.hold_expires_at,
        order.first_held_at,
        json.dumps(order.seat_prices),
        order.currency,
        now,
        order.pk,
    )
    labels = sorted_labels(wanted)
    statement.part(
        "audit_row",
        f"""INSERT INTO {AuditEntry._meta.db_table} (order_id, action, from_state, to_state, actor, reason, details, created_at)
        SELECT %s, %s, %s, %s, %s, %s, jsonb_build_object('seats', %s::jsonb, 'released', {labels_json_sql(holds.released)}::jsonb),
            %s
        WHERE TRUE{only}
        RETURNING id""",
        order.pk,
        AuditAction.SELECT_SEATS,
        from_state,
        order.state,
        actor,
        _reason(labels),
        json.dumps(labels),
        now,
    )
    status = order_status(order=order, now=now, seats=labels)
    events = publish_in(
        statement,
        source=statement.part(
            "events",
            f"SELECT * FROM (SELECT %s::text AS channel, 'status'::text AS type, %s::text AS data, 1 AS ord UNION ALL "  # noqa: S608
            f"{seat_changes_source_sql(available=holds.released, held=holds.new)}) AS e WHERE TRUE{only}",
            order_channel(order.pk),
            json.dumps(status, separators=(",", ":")),
            flight_channel(order.flight.code),
            order.flight.code,
        ),
    )
    row = statement.execute()
    holds.selection(row)  # raises for unknown or taken seats: the transaction undoes the statement
    events(row)
    log_on_commit(
        order,
        action=AuditAction.SELECT_SEATS,
        transition=f"{from_state or 'none'}->{order.state}",
        actor=actor,
        reason=_reason(labels),
    )
    return status


# The order row is as it was read: its version (xmin) is the one read. Replaced by the tests' control.
UNCHANGED_SQL = "xmin = %s::xid"


def change_if_unchanged(
    before: BeforeSeatChange, *, wanted: list[str], now: dt.datetime, actor: str
) -> OrderChange | None:
    """The seat change in one statement that is its own transaction, on the order as the early read saw it
    (PostgreSQL): no BEGIN, no separate lock, no COMMIT, and the order's lock held only while the statement
    runs. None, with nothing changed, where the locked path must decide: the order changed since that read,
    its hold has lapsed or its state refuses the change, a seat is unknown or was taken meanwhile, or a
    channel has its first event."""
    order = before.order
    if order is None or before.version is None or not ONE_STATEMENT or connection.in_atomic_block:
        return None
    if not before.all_seats_exist:  # the locked path refuses them (400) without a statement to undo
        return None
    if hold_lapsed(order, now) or not can_proceed(order.select_seats if wanted else order.clear_seats):
        return None
    try:
        status = change_selection(order, wanted=wanted, now=now, actor=actor, unchanged_since=before.version)
    except Undone:
        SEAT_CHANGES_UNDONE.inc()
        return None
    return OrderChange(order, status)


class NotEnoughSeats(Conflict):
    code = "not_enough_seats"


def best_free_seats(order: Order, *, count: int, zone: str | None, now: dt.datetime) -> list[str]:
    """The `count` best seats free for the locked order (its own count as free), within `zone` if given;
    raises NotEnoughSeats naming the shortfall when fewer are free."""
    flight = order.flight
    fares = fares_of(flight)
    rows = None
    if zone is not None:
        named = fares.zone_named(zone)
        if named is None:
            raise InvalidInput(
                f"Flight {flight.code} has no cabin zone {zone!r}; its zones: {', '.join(fares.zone_names())}.",
                code="invalid_zone",
            )
        zone, rows = named, fares.rows_of_zone(named)
    inventory.take_turns_choosing(flight=flight)
    free = inventory_selectors.free_seat_labels(flight=flight, holder=order.pk, now=now)
    layout = Layout(rows=flight.rows, letters=flight.letters, aisles_after=flight.aisles_after)
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


def read_before_change(*, order_id: str, labels: list[str], now: dt.datetime) -> BeforeSeatChange | None:
    """The early read (orders.selectors.read_before_seat_change): the wanted seats visibly taken, and the
    order as `change_if_unchanged` needs it. Replaced by the tests' controls."""
    return read_before_seat_change(order_id=order_id, labels=labels, now=now)
