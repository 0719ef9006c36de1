"""What a flight's channel says: the seats that changed, by their new state."""

from collections.abc import Collection, Iterable

from core.events.publishing import publish

SEATS_EVENT = "seats"


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
            SEATS_EVENT,
            {
                "flightID": flight_code,
                "available": sorted_labels(available),
                "held": sorted_labels(held),
                "confirmed": sorted_labels(confirmed),
            },
        )


def sorted_labels(labels: Iterable[str]) -> list[str]:
    """Seat-map order: by row number, then letter."""
    return sorted(labels, key=lambda label: (int(label[:-1]), label[-1]))
