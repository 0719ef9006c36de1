"""A seat change's writes on PostgreSQL as one statement (core/statement.py), run under the order's lock
inside the change's transaction: the holds (inventory/holds_sql.py), the order's columns, the audit row and
both events, in one round trip.

Each is built from what the ORM path (orders/services/seats.py) saves, not restated: the same order fields
through their own conversions (`Field.pre_save`, `get_db_prep_save`), the audit row that `audit_entry` makes,
the status event's data as `publish` stores it, and the flight's event from inventory/events_sql.py.
tests/orders/services/test_one_statement.py runs a scenario on both paths and compares what they leave.
"""

import datetime as dt
from collections.abc import Callable, Sequence

from django.db import connection
from django.db.models import Model

from core.events.publishing import event_data, publish_in
from core.statement import OneStatement
from inventory.events_sql import labels_json_sql, seat_changes_source_sql
from inventory.holds_sql import HoldParts, hold_seats_in
from inventory.services import Selection
from orders.events import STATUS_EVENT, order_channel
from orders.models import AuditEntry, Order
from orders.selectors import OrderStatus


def change_in_one_statement(
    order: Order,
    *,
    wanted: list[str],
    fields: Sequence[str],
    audit: AuditEntry,
    status: OrderStatus,
    now: dt.datetime,
    client_check: Callable[[OneStatement], Callable[[tuple], None]],
) -> Selection:
    """Write the change: `wanted` held, the order's `fields` saved, `audit` inserted (its details completed
    with the seats released), `status` and the flight's seat event published. Raises as `hold_seats` does
    for unknown or taken seats, and as `client_check` (the limit on what one client holds, counted by the
    statement: orders/services/client_limits.py) does; the caller's transaction then undoes the statement."""
    statement = OneStatement()
    within_client_limit = client_check(statement)
    holds = hold_seats_in(
        statement, holder=order.pk, flight=order.flight, labels=wanted, expires_at=order.hold_expires_at, now=now
    )
    _save(statement, "order_saved", order, fields=fields)
    _insert(statement, "audit_row", audit, released=holds.released)
    events = publish_in(statement, source=_events(statement, status=status, flight_code=order.flight.code, holds=holds))
    row = statement.execute()
    selection = holds.selection(row)
    within_client_limit(row)
    events(row)
    return selection


def _save(statement: OneStatement, name: str, instance: Model, *, fields: Sequence[str]) -> None:
    """`instance.save(update_fields=fields)` as a part."""
    model_fields = [f for f in instance._meta.concrete_fields if f.name in fields]
    assert len(model_fields) == len(fields), "concrete fields only"
    values = [f.get_db_prep_save(f.pre_save(instance, add=False), connection) for f in model_fields]
    assignments = ", ".join(f"{f.column} = %s" for f in model_fields)
    table, key = instance._meta.db_table, instance._meta.pk.column
    statement.part(name, f"UPDATE {table} SET {assignments} WHERE {key} = %s RETURNING 1", *values, instance.pk)


def _insert(statement: OneStatement, name: str, entry: AuditEntry, *, released: str) -> None:
    """`entry.save()` as a part, its details' "released" read from the part `released`."""
    model_fields = [f for f in AuditEntry._meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(entry, add=True), connection) for f in model_fields]
    released_json = f"jsonb_build_object('released', {labels_json_sql(released)}::jsonb)"
    placeholders = [f"(%s || {released_json})" if f.name == "details" else "%s" for f in model_fields]
    statement.part(
        name,
        f"INSERT INTO {AuditEntry._meta.db_table} ({', '.join(str(f.column) for f in model_fields)}) "
        f"VALUES ({', '.join(placeholders)}) RETURNING id",
        *values,
    )


def _events(statement: OneStatement, *, status: OrderStatus, flight_code: str, holds: HoldParts) -> str:
    """The part yielding the change's events as (channel, type, data, ord): the order's status, then the
    flight's seats that changed (none if none did)."""
    seats_sql, seats_params = seat_changes_source_sql(
        flight_code=flight_code, available=holds.released, held=holds.new, order=2
    )
    return statement.part(
        "events",
        f"SELECT %s::text AS channel, %s::text AS type, %s::text AS data, 1 AS ord UNION ALL {seats_sql}",
        order_channel(status["OrderID"]),
        STATUS_EVENT,
        event_data(status),
        *seats_params,
    )
