"""A flight's seat event (inventory/events.py) as a part of a seat change's one statement (core/statement.py).
tests/orders/services/test_one_statement.py checks it says what `publish_seat_changes` says."""

from typing import Any

from inventory.events import SEATS_EVENT, flight_channel


def seat_changes_source_sql(*, flight_code: str, available: str, held: str, order: int) -> tuple[str, list[Any]]:
    """`publish_seat_changes` for a one-statement change: a SELECT of the flight's event as
    (channel, type, data, ord), none if nothing changed, from the parts `available` and `held` (each
    returning `label`); and its parameters."""
    sql = f"""SELECT %s::text, %s::text, json_build_object('flightID', %s::text,
        'available', {labels_json_sql(available)}, 'held', {labels_json_sql(held)}, 'confirmed', '[]'::json)::text, %s
        WHERE EXISTS (SELECT 1 FROM {available}) OR EXISTS (SELECT 1 FROM {held})"""
    return sql, [flight_channel(flight_code), SEATS_EVENT, flight_code, order]


def labels_json_sql(part: str) -> str:
    """A part's labels as a JSON array in seat-map order, as `sorted_labels` orders them."""
    return f"COALESCE((SELECT json_agg(label ORDER BY left(label, -1)::int, right(label, 1)) FROM {part}), '[]'::json)"
