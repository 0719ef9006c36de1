"""The API beside the original contract: passengers and contact email, find my booking."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.response import Response
from rest_framework.views import APIView

from core import client_address
from core.drf import ScopedThrottle
from core.errors import ServiceError
from core.openapi import ORDER_ERRORS, THROTTLED, StatusWithMessageSerializer, errors
from orders import inputs, services
from orders.access import authorize_order, booking_token
from orders.api import SEAT_LABEL_PATTERN, StrictCharField, StrictSerializer, drf_checked, valid_input
from orders.inputs import REFERENCE_FIELD_MAX, REFERENCE_INPUT_PATTERN, REFERENCE_LENGTH
from orders.services.passengers import EMAIL_MAX_LENGTH, NAME_INPUT_PATTERN, NAME_MAX_LENGTH, clean_name
from orders.throttles import FindBookingThrottle, find_booking_throttled


@extend_schema_field(
    {"type": "string", "pattern": NAME_INPUT_PATTERN, "maxLength": NAME_MAX_LENGTH, "example": "Lovelace"}
)
class NameField(serializers.CharField):
    """A name as a passport carries it; orders/services/passengers.py says what is wrong with one."""

    def run_validation(self, data=empty):
        if data is empty:  # missing: required, as any field
            return super().run_validation(data)
        return self.to_internal_value(data)  # blank included: the one message says what a name is

    def to_internal_value(self, data):
        try:
            return clean_name(data, field=self.field_name or "name")
        except ServiceError as exc:
            raise serializers.ValidationError(exc.message) from None


class PassThroughField(serializers.Field):
    """A value handed to the service as sent (it says what is wrong with it, naming the passenger)."""

    def to_internal_value(self, data):
        return data


@extend_schema_field({"type": "string", "pattern": SEAT_LABEL_PATTERN, "example": "12C"})
class SeatLabelField(StrictCharField):
    pass


PASSENGERS_BODY = {
    "type": "object",
    "properties": {
        "passengers": {
            "type": "array",
            "minItems": 1,
            "maxItems": settings.MAX_SEATS_PER_ORDER,
            "description": "One passenger for each held seat, each seat once.",
            "items": {
                "type": "object",
                "properties": {
                    "seat": {"type": "string", "pattern": SEAT_LABEL_PATTERN, "example": "12C"},
                    "firstName": {
                        "type": "string",
                        "pattern": NAME_INPUT_PATTERN,
                        "maxLength": NAME_MAX_LENGTH,
                        "example": "Ada",
                    },
                    "lastName": {
                        "type": "string",
                        "pattern": NAME_INPUT_PATTERN,
                        "maxLength": NAME_MAX_LENGTH,
                        "example": "Lovelace",
                    },
                },
                "required": ["seat", "firstName", "lastName"],
                "additionalProperties": False,
            },
        },
        "email": {"type": "string", "format": "email", "maxLength": EMAIL_MAX_LENGTH, "example": "ada@example.com"},
    },
    "required": ["passengers", "email"],
    "additionalProperties": False,
}


class PassengersView(APIView):
    """Name a passenger for each held seat and give the contact email (SEATS_SELECTED, before paying).
    Optional: a code alone still pays, but then find-my-booking and the confirmation email have nothing
    to work with."""

    throttle_classes = [ScopedThrottle]
    throttle_scope = "change_seats"

    class PassengerInput(StrictSerializer):
        seat = SeatLabelField(trim_whitespace=False)
        # Checked (and normalised) by the service, whose messages name the passenger: passengers[1].lastName.
        firstName = PassThroughField()
        lastName = PassThroughField()

        def validate_seat(self, value: str) -> str:
            return drf_checked(inputs.valid_seat_label, value)

    class PassengersInput(StrictSerializer):
        passengers = serializers.ListField(min_length=1, max_length=settings.MAX_SEATS_PER_ORDER)  # PassengerInput each
        email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH, trim_whitespace=False)

        def validate(self, attrs):
            """Each passenger checked on its own, its errors named by its place: passengers[1].seat."""
            attrs = super().validate(attrs)
            items, problems = [], []
            for n, item in enumerate(attrs["passengers"]):
                serializer = PassengersView.PassengerInput(data=item)
                if serializer.is_valid():
                    items.append(serializer.validated_data)
                    continue
                for field, messages in serializer.errors.items():
                    where = f"passengers[{n}]" + ("" if field == "non_field_errors" else f".{field}")
                    problems += [f"{where}: {message}" for message in messages]
            if problems:
                raise serializers.ValidationError(problems)
            return {**attrs, "passengers": items}

    @extend_schema(
        request={"application/json": PASSENGERS_BODY},
        tags=["orders"],
        responses={
            200: StatusWithMessageSerializer,
            **ORDER_ERRORS,
            **THROTTLED,
            **errors(
                e400="A name not as a passport carries it (Latin letters with accents; one space, hyphen, "
                "apostrophe or full stop between them; 1-64 characters; no control characters), the message "
                "naming the passenger (passengers[1].lastName: ...), or a bad email address.",
                e409="The passengers do not match the held seats one to one (named in `seats`), the hold "
                "expired, or the order is not SEATS_SELECTED.",
            ),
        },
    )
    def post(self, request, order_id: str):
        access = authorize_order(request, order_id)
        data = valid_input(self.PassengersInput, request)
        change = services.set_passengers(
            order_id=access.order_id, passengers=data["passengers"], email=data["email"], actor=access.actor
        )
        return Response({"status": "passengers updated", **change.status})


FOUND_BOOKING = inline_serializer(
    "FoundBooking",
    {
        "orderID": serializers.CharField(),
        "token": serializers.CharField(help_text="Opens the order like its own token: Authorization: Bearer <token>."),
        "reference": serializers.CharField(),
    },
)


class FindBookingView(APIView):
    """Find my booking: a confirmed booking's reference and a passenger's last name give back the order id
    and a token for it. A wrong reference and a wrong name get the same 404. Throttled per client address
    (an IPv6 address by its /64); failed lookups make the address that failed wait (orders/throttles.py)."""

    throttle_classes = [FindBookingThrottle]

    class FindBookingInput(StrictSerializer):
        reference = StrictCharField(trim_whitespace=False, max_length=REFERENCE_FIELD_MAX)
        lastName = NameField(trim_whitespace=False, max_length=NAME_MAX_LENGTH)

        def validate_reference(self, value: str) -> str:
            return drf_checked(inputs.valid_reference, value)  # as the page takes it: any case, spaces anywhere

    @extend_schema(
        request=inline_serializer(
            "FindBookingBody",
            {
                "reference": serializers.RegexField(
                    REFERENCE_INPUT_PATTERN,
                    max_length=REFERENCE_FIELD_MAX,
                    help_text=f"e.g. K7MX3Q: {REFERENCE_LENGTH} letters and digits (no 0, O, 1, I or L); "
                    "case and spaces do not matter (k7mx 3q).",
                ),
                "lastName": NameField(max_length=NAME_MAX_LENGTH),
            },
        ),
        tags=["bookings"],
        auth=[],
        responses={
            200: FOUND_BOOKING,
            **errors(
                e429="Too many requests from this address (an IPv6 address counts by its /64), or this address "
                "must wait after its failed lookups: then `limit` says which (`address`: all of them; "
                "`reference`: it failed on a reference being guessed, which it may try again later; others "
                "may). The Retry-After header says when to try again.",
                e400="Malformed body.",
                e404="No confirmed booking has this reference with a passenger of this last name.",
            ),
        },
    )
    def post(self, request):
        data = valid_input(self.FindBookingInput, request)
        order = find_booking_throttled(
            reference=data["reference"], last_name=data["lastName"], address=client_address.of(request)
        )
        assert order.reference is not None  # only confirmed orders are found
        return Response(
            {
                "orderID": order.pk,
                "token": booking_token(order.pk, order.reference, order.booking_link_version),
                "reference": order.reference,
            }
        )
