"""GET /orders/{id}/events: the order's status now, then on every change (text/event-stream), each as an
unnamed event (`data:` the status object), as the original system sent them."""

from core.api_errors import json_get_only, service_error_response
from core.errors import ServiceError
from core.events.streams import read, stream_response
from orders.access import authorize_order
from orders.events import STATUS_EVENT, order_channel
from orders.selectors import get_order_status


@json_get_only
async def order_events(request, order_id: str):
    try:
        access = await read(authorize_order, request, order_id)
    except ServiceError as exc:
        return service_error_response(exc)
    return await stream_response(
        request,
        channel=order_channel(access.order_id),
        snapshot=lambda: (STATUS_EVENT, get_order_status(order_id=access.order_id)),
        unnamed=STATUS_EVENT,
    )
