"""What an order's channel says: its status object, on every change. Called by services inside the
transaction of each change."""

from core.events.eventstream import UNNAMED
from core.events.publishing import publish_many
from orders.selectors import OrderStatus

# Statuses are unnamed events, as the original system sent them: `onmessage` receives them.
STATUS_EVENT = UNNAMED


def order_channel(order_id: str) -> str:
    return f"order-{order_id}"


def publish_order_statuses(statuses: list[OrderStatus]) -> None:
    """Orders' status objects (one, or a batch of expiries), in as few statements as the database allows."""
    publish_many([(order_channel(status["OrderID"]), STATUS_EVENT, status) for status in statuses])
