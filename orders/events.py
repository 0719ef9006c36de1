"""What an order's channel says: its status object, on every change. Called by services inside the
transaction of each change."""

from core.events.publishing import publish_many
from orders.selectors import OrderStatus

# Stored under this type; the order's stream sends it unnamed, as the original system sent its statuses
# (orders/streams.py), so that EventSource's `onmessage` receives it.
STATUS_EVENT = "status"


def order_channel(order_id: str) -> str:
    return f"order-{order_id}"


def publish_order_statuses(statuses: list[OrderStatus]) -> None:
    """Orders' status objects (one, or a batch of expiries), in as few statements as the database allows."""
    publish_many([(order_channel(status["OrderID"]), STATUS_EVENT, status) for status in statuses])
