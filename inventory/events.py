"""What a flight's channel says: the seats that changed, by their new state."""

from collections.abc import Collection, Iterable

from core.events.publishing import publish


def flight_channel(flight_code: str) -> str:
    return f"flight-{flight_code}"


def publish_seat_changes(
    *,
    flight_code: str,
    available: Collection[str] = (),
    held: Collection[str] = (),
    confirmed: Collection[str] = (),
) -> None:
    """Seats that changed, by their new state: the availability object's shape, listing only those seats."""
    if available or held or confirmed:
        publish(
            flight_channel(flight_code),
            "seats",
            {
                "flightID": flight_code,
                "available": sorted_labels(available),
                "held": sorted_labels(held),
                "confirmed": sorted_labels(confirmed),
            },
        )


def seat_changes_source_sql(*, available: str, held: str) -> str:
    """`publish_seat_changes` for a one-statement change (core/statement.py): a SELECT of the flight's event
    as (channel, type, data, ord), none if nothing changed, from the parts `available` and `held` (each
    returning `label`). Takes the channel and the flight code as its two parameters."""
    return f"""SELECT %s::text, 'seats'::text, json_build_object('flightID', %s::text,
        'available', {labels_json_sql(available)}, 'held', {labels_json_sql(held)}, 'confirmed', '[]'::json)::text, 2
        WHERE EXISTS (SELECT 1 FROM {available}) OR EXISTS (SELECT 1 FROM {held})"""  # noqa: S608 - part names only


def labels_json_sql(part: str) -> str:
    """A part's labels as a JSON array in seat-map order, as `sorted_labels` orders them."""
    return f"COALESCE((SELECT json_agg(label ORDER BY left(label, -1)::int, right(label, 1)) FROM {part}), '[]'::json)"  # noqa: S608


def sorted_labels(labels: Iterable[str]) -> list[str]:
    """Seat-map order: by row number, then letter."""
    return sorted(labels, key=lambda label: (int(label[:-1]), label[-1]))
