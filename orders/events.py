"""What the order and flight channels say. Called by services inside the transaction of each change."""

from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from core.events.publishing import publish, publish_many

if TYPE_CHECKING:
    from orders.selectors import OrderStatus  # orders.selectors imports this module


def order_channel(order_id: str) -> str:
    return f"order-{order_id}"


def flight_channel(flight_code: str) -> str:
    return f"flight-{flight_code}"


def publish_order_statuses(statuses: list["OrderStatus"]) -> None:
    """Many orders' status objects at once (a batch of expiries), in as few statements as the database allows."""
    publish_many([(order_channel(status["OrderID"]), "status", status) for status in statuses])


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


def sorted_labels(labels: Iterable[str]) -> list[str]:
    """Seat-map order: by row number, then letter."""
    return sorted(labels, key=lambda label: (int(label[:-1]), label[-1]))
