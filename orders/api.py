"""The order endpoints of the HTTP contract. Thin: validate input, authorise, call a service, render status."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.drf import ScopedThrottle
from core.errors import InvalidInput
from core.idempotency import DerivedSecret, idempotent
from core.languages import request_language
from core.openapi import (
    CREATED_ORDER,
    IDEMPOTENCY_ERRORS,
    IDEMPOTENCY_KEY,
    ORDER_ERRORS,
    THROTTLED,
    StatusSerializer,
    StatusWithMessageSerializer,
    errors,
)
from orders import inputs, services
from orders.access import actor_for, authorize_order, session_order_token
from orders.clients import client_keys
from orders.selectors import get_order_status


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know: a typo such as "seat" must not pass as an empty request."""

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown field(s): {', '.join(unknown)}. Expected: {', '.join(self.fields)}."
            )
        return attrs


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF's CharField would turn 12345 or true into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError("Send this as a JSON string.")
        return super().to_internal_value(data)


class SeatCountField(serializers.IntegerField):
    """A JSON integer, and only that: DRF's IntegerField would take "3" and refuse true with a vaguer message."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError("Send the number of seats as a JSON integer, e.g. 2.")
        return super().to_internal_value(data)


# The patterns are the schema's (OpenAPI `pattern`); the checks are the input contract's (orders/inputs.py).
ORDER_ID_PATTERN = inputs.ORDER_ID_PATTERN
FLIGHT_CODE_PATTERN = inputs.FLIGHT_CODE_PATTERN
SEAT_LABEL_PATTERN = inputs.SEAT_LABEL_PATTERN
PAYMENT_CODE_PATTERN = inputs.PAYMENT_CODE_PATTERN


def drf_checked(check: Callable[[Any], Any], value: Any) -> Any:
    """The input contract's check of one value, its refusal as DRF's (a 400 naming the field, as before)."""
    try:
        return check(value)
    except InvalidInput as exc:
        raise serializers.ValidationError(exc.message) from None


class ContractValidator:
    """A DRF field validator that asks the input contract (orders/inputs.py)."""

    def __init__(self, check: Callable[[Any], Any]) -> None:
        self.check = check

    def __call__(self, value: Any) -> None:
        drf_checked(self.check, value)


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "pattern": SEAT_LABEL_PATTERN, "example": "12C"},
        "maxItems": settings.MAX_SEATS_PER_ORDER,
        "uniqueItems": True,
    }
)
class SeatLabelsField(serializers.ListField):
    """The schema states the limits; the service refuses more seats or repeats with codes of their own."""

    child = StrictCharField(trim_whitespace=False)


@extend_schema_field({"type": "string", "pattern": PAYMENT_CODE_PATTERN, "example": "12345"})
class PaymentCodeField(StrictCharField):
    default_error_messages = {"blank": inputs.PAYMENT_CODE_MESSAGE}


@extend_schema_field({"type": "string", "pattern": FLIGHT_CODE_PATTERN, "example": "F-100"})
class FlightCodeField(StrictCharField):
    default_validators = [ContractValidator(inputs.valid_flight_code)]


@extend_schema_field({"type": "string", "pattern": ORDER_ID_PATTERN})
class OrderIdField(StrictCharField):
    pass


# With an Idempotency-Key, the order's token is derived from the key, so that a replay can hand it out
# again without the token ever being stored (core/idempotency.py).
ORDER_TOKEN = DerivedSecret(field="token", purpose="order-token", subject_field="orderID")


class CreateOrderView(APIView):
    """Create an order on a flight. Keep the returned `token`: every call on the order needs it."""

    throttle_classes = [ScopedThrottle]
    throttle_scope = "create_order"

    class CreateOrderInput(StrictSerializer):
        flightID = FlightCodeField(max_length=16, trim_whitespace=False)
        orderID = OrderIdField(max_length=64, required=False, allow_blank=True, trim_whitespace=False)

        def validate_orderID(self, value: str) -> str:
            return drf_checked(inputs.valid_order_id, value) if value else value

    @extend_schema(
        request=CreateOrderInput,
        tags=["orders"],
        auth=[],
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: CREATED_ORDER,
            **IDEMPOTENCY_ERRORS,
            **THROTTLED,
            **errors(
                e400="Malformed body or order id, or an Idempotency-Key not 16-255 characters long.",
                e404="Unknown flight.",
                e409="The order id is taken (by another client: the same create repeated with the same "
                "Idempotency-Key or in the same browser session answers 201 again), or a request with this "
                "Idempotency-Key is still running.",
            ),
        },
    )
    @idempotent(derived=(ORDER_TOKEN,))
    def post(self, request):
        data = valid_input(self.CreateOrderInput, request)
        order_id = data.get("orderID") or services.new_order_id()
        order, token = services.create_order(
            flight_code=data["flightID"],
            order_id=order_id,
            actor=actor_for("api", request),
            # Derived, not random, for a caller who can repeat the create and be told the same answer.
            token=ORDER_TOKEN.for_request(request, order_id) or session_order_token(request, order_id),
            client=client_keys(request),
            language=request_language(request),  # its confirmation email speaks the caller's Accept-Language
        )
        return Response({"orderID": order.pk, "flightID": order.flight.code, "token": token}, status=201)


# POST /orders/{id}/seats takes either `seats` or `best` (with an optional `zone`): said exactly in the schema.
SELECT_SEATS_BODY = {
    "oneOf": [
        {
            "type": "object",
            "title": "Seats chosen",
            "properties": {
                "seats": {
                    "type": "array",
                    "items": {"type": "string", "pattern": SEAT_LABEL_PATTERN, "example": "12C"},
                    "maxItems": settings.MAX_SEATS_PER_ORDER,
                    "uniqueItems": True,
                    "description": "The whole selection; [] releases every seat. On a CONFIRMED booking: its "
                    "new seats, as many as it has (a seat change: the status's `Change` follows it).",
                },
                "code": {
                    "type": "string",
                    "pattern": PAYMENT_CODE_PATTERN,
                    "description": "A CONFIRMED booking's seat change that costs more is charged with this "
                    "5-digit payment code (without it: 409 `payment_code_required`, naming the difference).",
                },
            },
            "required": ["seats"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "title": "Best available",
            "properties": {
                "best": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": settings.MAX_SEATS_PER_ORDER,
                    "description": "Hold this many seats chosen by the server: adjacent in one row without "
                    "crossing an aisle where possible, else the closest group; never stranding a single free "
                    "seat when another choice avoids it. Replaces the selection (seats the order holds count "
                    "as free).",
                },
                "zone": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": inputs.ZONE_MAX_LENGTH,
                    "description": "Only seats of this cabin zone (GET /flights/{id} lists them; 404 if none).",
                },
            },
            "required": ["best"],
            "additionalProperties": False,
        },
    ]
}


class SelectSeatsView(APIView):
    """Replace the order's seat selection; holds all of them until now + the hold time. [] releases all.
    Or `{"best": N}`: the server chooses N seats together (optionally within a cabin `zone`)."""

    throttle_classes = [ScopedThrottle]
    throttle_scope = "change_seats"

    class SelectSeatsInput(StrictSerializer):
        seats = SeatLabelsField(allow_empty=True, required=False)
        code = PaymentCodeField(required=False, trim_whitespace=False)
        best = SeatCountField(min_value=1, max_value=settings.MAX_SEATS_PER_ORDER, required=False)
        zone = StrictCharField(max_length=inputs.ZONE_MAX_LENGTH, required=False, trim_whitespace=False)

        def validate_seats(self, value: list[str]) -> list[str]:
            return drf_checked(inputs.valid_seat_labels, value)

        def validate_best(self, value: int) -> int:
            return drf_checked(inputs.valid_seat_count, value)

        def validate_zone(self, value: str) -> str | None:
            return drf_checked(inputs.valid_zone, value)

        def validate(self, attrs):
            attrs = super().validate(attrs)
            if ("seats" in attrs) == ("best" in attrs):
                raise serializers.ValidationError(
                    'Send either "seats" (the seats you choose) or "best" (how many seats the server chooses).'
                )
            if "code" in attrs and "seats" not in attrs:
                raise serializers.ValidationError('"code" goes with "seats": it pays for a booking\'s seat change.')
            if "zone" in attrs and "best" not in attrs:
                raise serializers.ValidationError('"zone" goes with "best": the seats you choose name their zone.')
            return attrs

    @extend_schema(
        request={"application/json": SELECT_SEATS_BODY},
        tags=["orders"],
        responses={
            200: StatusWithMessageSerializer,
            **ORDER_ERRORS,
            **THROTTLED,
            **errors(
                e400="Unknown or repeated seats, more than the limit, a bad label, both/neither of seats and best, "
                "or (with best) a zone the flight has not (`invalid_zone`, naming its zones; any case).",
                e404="There is no such order.",
                e409="Seats taken (named in `seats`), fewer than `best` seats free (`free`, `short`), the hold "
                "expired, or the order cannot change seats now.",
            ),
        },
    )
    def post(self, request, order_id: str):
        access = authorize_order(request, order_id)
        data = valid_input(self.SelectSeatsInput, request)
        if "best" in data:
            change = services.select_best_seats(
                order_id=access.order_id, count=data["best"], zone=data.get("zone"), actor=access.actor
            )
        else:
            change = services.change_seats_or_selection(
                order_id=access.order_id,
                labels=data["seats"],
                state=access.state,
                code=data.get("code"),
                actor=access.actor,
                staff=access.staff,
            )
        return Response({"status": "seats updated", **change.status})


class PayView(APIView):
    """Pay for the held seats with a 5-digit code. 202: the attempts run in the background; follow the status."""

    throttle_classes = [ScopedThrottle]
    throttle_scope = "payment"

    class PaymentInput(StrictSerializer):
        code = PaymentCodeField(trim_whitespace=False)

        def validate_code(self, value: str) -> str:
            return inputs.valid_payment_code(value)  # its own 400 code (invalid_payment_code): no attempt used

    @extend_schema(
        request=PaymentInput,
        tags=["orders"],
        parameters=[IDEMPOTENCY_KEY],
        responses={
            202: OpenApiResponse(
                StatusWithMessageSerializer, description="Accepted: the attempts run in the background."
            ),
            **ORDER_ERRORS,
            **IDEMPOTENCY_ERRORS,
            **THROTTLED,
            **errors(
                e400="Not exactly 5 digits (no attempt was used), or an Idempotency-Key not 16-255 characters long.",
                e409="No seats, the hold expired, a payment is already being processed, or a request with this "
                "Idempotency-Key is still running.",
            ),
        },
    )
    def post(self, request, order_id: str):
        access = authorize_order(request, order_id)  # before any replay: a key opens nothing by itself
        return self.pay(request, access)

    @idempotent
    def pay(self, request, access):
        data = valid_input(self.PaymentInput, request)
        change = services.submit_payment(order_id=access.order_id, code=data["code"], actor=access.actor)
        return Response({"status": "payment submitted", **change.status}, status=202)


class OrderStatusView(APIView):
    """The order's current status object."""

    @extend_schema(tags=["orders"], responses={200: StatusSerializer, **ORDER_ERRORS})
    def get(self, request, order_id: str):
        access = authorize_order(request, order_id)
        return Response(get_order_status(order_id=access.order_id))


def valid_input(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
