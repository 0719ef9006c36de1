"""GET /orders/{id}/events: the order's status now, then on every change (text/event-stream), each as an
unnamed event (`data:` the status object), as the original system sent them.

A stream opens with a ticket (`?ticket=`, from POST /orders/{id}/events/ticket: it works for a minute, so
the order's long-lived token need not travel in a URL), the browser session (the pages' script), staff, or
the order's token as clients of the original send it (`?token=`; kept out of every log line: core/logs.py).
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import json_get_only, service_error_response
from core.errors import ServiceError
from core.events.streams import event_stream, read, stream_response
from core.openapi import ORDER_ERRORS
from orders.access import authorize_order, authorize_stream, stream_ticket
from orders.events import STATUS_EVENT, order_channel
from orders.selectors import get_order_status


@event_stream
@json_get_only
async def order_events(request, order_id: str):
    try:
        access = await read(authorize_stream, request, order_id)
    except ServiceError as exc:
        return service_error_response(exc)
    return await stream_response(
        request,
        channel=order_channel(access.order_id),
        snapshot=lambda: (STATUS_EVENT, get_order_status(order_id=access.order_id)),
        unnamed=STATUS_EVENT,
    )


class StreamTicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="Send as ?ticket= on GET /orders/{id}/events.")
    expiresIn = serializers.IntegerField(help_text="Seconds within which the stream must be opened.")
    url = serializers.CharField(help_text="The order's stream with the ticket: a path for EventSource.")


class StreamTicketView(APIView):
    """A ticket that opens the order's event stream within a minute (EventSource cannot send the
    Authorization header; a ticket in the URL is worth nothing a minute later, a token would be)."""

    @extend_schema(request=None, tags=["orders"], responses={200: StreamTicketSerializer, **ORDER_ERRORS})
    def post(self, request, order_id: str):
        access = authorize_order(request, order_id)
        ticket = stream_ticket(access.order_id)
        return Response(
            {
                "ticket": ticket,
                "expiresIn": settings.STREAM_TICKET_SECONDS,
                "url": f"/orders/{access.order_id}/events?ticket={ticket}",
            }
        )
