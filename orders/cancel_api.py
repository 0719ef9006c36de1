"""POST /orders/{id}/cancel: an order not paid let go, or a paid booking's seats given back (all, or some),
refunded by the policy. Thin, as the other order endpoints (orders/api.py)."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.openapi import ORDER_ERRORS, StatusSerializer, errors
from orders import inputs, services
from orders.access import authorize_order
from orders.api import SEAT_LABEL_PATTERN, StrictCharField, StrictSerializer, drf_checked, valid_input


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "pattern": SEAT_LABEL_PATTERN, "example": "12C"},
        "minItems": 1,
        "maxItems": settings.MAX_SEATS_PER_ORDER,
        "uniqueItems": True,
        "description": "Some of a paid booking's seats to give back; without it, every seat.",
    }
)
class SeatsToGiveBackField(serializers.ListField):
    child = StrictCharField(trim_whitespace=False)


class CancelOrderView(APIView):
    """Cancel an order that is not paying yet; its seats are released. On a CONFIRMED booking: give back its
    seats (all, or `seats`: some of them), refunded by the refund policy; the status's `Refund` follows it."""

    # No throttle, on either door: a cancel only ever frees the caller's own seats, and a client at its
    # limit must still be able to let them go.

    class CancelInput(StrictSerializer):
        seats = SeatsToGiveBackField(allow_empty=False, required=False)

        def validate_seats(self, value: list[str]) -> list[str]:
            return drf_checked(inputs.valid_seat_labels, value)

    @extend_schema(
        request=CancelInput,
        extensions={"x-body-optional": True},  # no body: every seat (core/openapi.py reads this mark)
        tags=["orders"],
        responses={
            200: StatusSerializer,
            **ORDER_ERRORS,
            **errors(
                e400="`seats` names a seat the booking has not, or one twice.",
                e409="The order is paying or already over, `seats` is sent for an order not paid (`not_booked`), a "
                "seat change is being paid for, or changes to the booking have closed (`changes_closed`).",
            ),
        },
    )
    def post(self, request, order_id: str):
        access = authorize_order(request, order_id)
        data = _cancel_input(self.CancelInput, request)
        change = services.cancel_order_or_booking(
            order_id=access.order_id,
            state=access.state,
            actor=access.actor,
            seats=data.get("seats"),
            staff=access.staff,
        )
        return Response(change.status)


def _cancel_input(serializer_class, request) -> dict:
    """A cancel's body is optional: before a paid booking could give back some of its seats no body was read,
    so a call with none (or an empty form, as the original's clients may send) cancels as before. Any other
    body is read as every body is (JSON; a form is refused 415), lest a request meant to give back some
    seats gave back every one."""
    if not request.body.strip():
        return {}
    if request.content_type.split(";")[0].strip() in _FORM_TYPES and not request._request.POST:
        return {}  # an empty form
    return valid_input(serializer_class, request)  # a body: an object ({} too: every seat), else a 400


_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
