"""OpenAPI description of the HTTP contract (drf-spectacular): response shapes, errors, auth, streams."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="What went wrong and what to do, for a person.")
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. seats_taken, hold_expired.")
    seats = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="The seats concerned, where there are some."
    )
    state = serializers.CharField(required=False, help_text="The order's state, on a wrong_state refusal.")
    fields = serializers.DictField(required=False, help_text="Per-field messages of a validation error.")  # type: ignore[assignment]  # DRF's metaclass pops declared fields: Serializer.fields stays


class StatusSerializer(serializers.Serializer):
    OrderID = serializers.CharField()
    FlightID = serializers.CharField()
    State = serializers.ChoiceField(
        choices=["PENDING", "SEATS_SELECTED", "PROCESSING_PAYMENT", "CONFIRMED", "FAILED", "EXPIRED", "CANCELLED"]
    )
    Seats = serializers.ListField(child=serializers.CharField())
    HoldExpiresAt = serializers.DateTimeField(allow_null=True)
    AttemptsLeft = serializers.IntegerField()
    LastPaymentErr = serializers.CharField(allow_blank=True)
    PaymentStatus = serializers.ChoiceField(choices=["", "trying", "retrying", "success", "failed"])
    Total = serializers.CharField(
        help_text='What the seats cost, e.g. "258.00": fixed when the payment starts (the amount charged), '
        "before that the price of the seats held now."
    )
    Currency = serializers.CharField(help_text="ISO 4217 code of Total, the flight's currency.")
    Reference = serializers.CharField(
        allow_blank=True,
        help_text="The booking reference, 6 characters (no 0, O, 1, I or L), given on CONFIRMED; empty before.",
    )
    Passengers = inline_serializer(
        "Passenger",
        {"seat": serializers.CharField(), "firstName": serializers.CharField(), "lastName": serializers.CharField()},
        many=True,
        help_text="The named passengers of the order's seats (POST /orders/{id}/passengers), in seat-map order.",
    )
    ContactEmail = serializers.CharField(allow_blank=True, help_text="Where the confirmation email goes.")
    Change = inline_serializer(
        "BookingChange",
        {
            "State": serializers.ChoiceField(choices=["CHARGING", "DONE", "UNDONE"]),
            "SeatsBefore": serializers.ListField(child=serializers.CharField()),
            "SeatsAfter": serializers.ListField(child=serializers.CharField()),
            "Difference": serializers.CharField(help_text='What the change costs, e.g. "50.00"; negative: refunded.'),
            "AttemptsLeft": serializers.IntegerField(),
            "LastError": serializers.CharField(allow_blank=True),
        },
        allow_null=True,
        help_text="A CONFIRMED booking's seat change (POST /orders/{id}/seats after paying): CHARGING while the "
        "difference is charged (State stays CONFIRMED, Seats the booked ones), then DONE (Seats are the new ones) "
        "or UNDONE (the booking as it was). The last one; null if none.",
    )
    Refund = inline_serializer(
        "Refund",
        {
            "State": serializers.ChoiceField(choices=["PENDING", "PAID", "FAILED"]),
            "Amount": serializers.CharField(help_text="Paid back, in Currency."),
            "Fee": serializers.CharField(help_text="Kept by the refund policy (a cancellation after its window)."),
            "Currency": serializers.CharField(),
            "CreditNote": serializers.CharField(help_text="The credit note's number, e.g. CN-K7M2QX-1."),
            "Seats": serializers.ListField(child=serializers.CharField()),
            "Reason": serializers.ChoiceField(choices=["cancellation", "seat_change", "late_payment"]),
        },
        allow_null=True,
        help_text="The booking's last refund (a cancellation, a cheaper seat change, or a payment the gateway "
        "took after the order ended and whose seats were gone); null if none.",
    )


class StatusWithMessageSerializer(StatusSerializer):
    status = serializers.CharField(help_text='"seats updated" or "payment submitted"')


class AvailabilitySerializer(serializers.Serializer):
    flightID = serializers.CharField()
    available = serializers.ListField(child=serializers.CharField())
    held = serializers.ListField(child=serializers.CharField())
    confirmed = serializers.ListField(child=serializers.CharField())
    total = serializers.IntegerField()


def errors(**described: str) -> dict:
    """{status: a JSON error response described} for extend_schema(responses=...)."""
    return {
        int(status.removeprefix("e")): OpenApiResponse(ErrorSerializer, description=text)
        for status, text in described.items()
    }


ORDER_ERRORS = errors(
    e403="Not your order: send its token (`Authorization: Bearer <token>`).", e404="There is no such order."
)
FLIGHT_SUMMARY: dict[str, serializers.Field] = {
    "flightID": serializers.CharField(),
    "origin": serializers.CharField(),
    "destination": serializers.CharField(),
    "route": serializers.CharField(),
    "departure": serializers.DateTimeField(),
}
FLIGHT_LIST = inline_serializer(
    "FlightListItem",
    {**FLIGHT_SUMMARY, "seatsLeft": serializers.IntegerField(), "total": serializers.IntegerField()},
    many=True,
)
FLIGHT_DETAIL = inline_serializer(
    "FlightDetail",
    {
        **FLIGHT_SUMMARY,
        "total": serializers.IntegerField(),
        "layout": inline_serializer(
            "SeatMapLayout",
            {
                "rows": serializers.IntegerField(),
                "letters": serializers.CharField(),
                "aislesAfter": serializers.CharField(),
            },
        ),
        "currency": serializers.CharField(help_text="ISO 4217 code of every price of this flight, e.g. EUR."),
        "zones": inline_serializer(
            "FareZone",
            {
                "name": serializers.CharField(help_text='A cabin zone; "Standard" is every seat in no other zone.'),
                "rows": serializers.ListField(
                    child=serializers.IntegerField(),
                    allow_null=True,
                    help_text="[first, last] row of the zone; null for Standard.",
                ),
                "price": serializers.CharField(help_text='Price of one seat in the zone, e.g. "45.00".'),
            },
            many=True,
        ),
        "seats": inline_serializer(
            "PricedSeat",
            {
                "label": serializers.CharField(),
                "zone": serializers.CharField(),
                "price": serializers.CharField(help_text='Decimal as a string, e.g. "45.00", in `currency`.'),
            },
            many=True,
        ),
    },
)
CREATED_ORDER = inline_serializer(
    "CreatedOrder",
    {
        "orderID": serializers.CharField(),
        "flightID": serializers.CharField(),
        "token": serializers.CharField(help_text="Shown once: keep it."),
    },
)


def _stream(summary: str, description: str, parameter: str, errors_: dict) -> dict:
    return {
        "get": {
            "operationId": summary.lower().replace(" ", "_"),
            "summary": summary,
            "description": description,
            "tags": [parameter.split("_")[0] + "s"],
            "parameters": [
                {"name": parameter, "in": "path", "required": True, "schema": {"type": "string"}},
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "Resume after this event id.",
                },
                {
                    "name": "lastEventId",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "The same, for clients that cannot set headers.",
                },
            ],
            "responses": {
                "200": {
                    "description": "text/event-stream",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                **errors_,
            },
        }
    }


def add_event_streams(result, generator, request, public):
    """The two event streams are plain async Django views, so they are described here."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    token = {
        "name": "token",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "The order's token, as clients of the original send it (kept out of logs). Prefer `ticket`.",
    }
    ticket = {
        "name": "ticket",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "A stream ticket from POST /orders/{order_id}/events/ticket: opens the stream within a "
        "minute (EventSource cannot send an Authorization header; a ticket in a URL is worthless a minute later).",
    }
    order = _stream(
        "Order events",
        "First a `status` event with the status object now, then one on every change.",
        "order_id",
        {"403": {"description": "Not your order.", **error}, "404": {"description": "No such order.", **error}},
    )
    order["get"]["parameters"] += [ticket, token]
    order["get"]["security"] = [{"bearerAuth": []}, {"cookieAuth": []}]
    flight = _stream(
        "Flight events",
        "First an `availability` event (as GET /flights/{id}/available-seats), "
        "then `seats` events listing the seats that changed, by their new state.",
        "flight_code",
        {"404": {"description": "No such flight.", **error}},
    )
    result["paths"]["/orders/{order_id}/events"] = order
    result["paths"]["/flights/{flight_code}/events"] = flight
    schemes = result.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["bearerAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "The order's token, returned once by POST /orders.",
    }
    for path, item in result["paths"].items():
        if path.startswith("/orders/{order_id}/"):
            for operation in item.values():
                operation["security"] = [{"bearerAuth": []}, {"cookieAuth": []}]
    return result


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 16, "maxLength": 255},
    OpenApiParameter.HEADER,
    required=False,
    description="A random, unguessable key of 16-255 characters (a UUID). Retrying with the same key and body "
    "replays the first answer without acting again (for POST /orders, with the order's token): the "
    "key is what links a retry to its first answer, so keep it as secret as the token. The same key "
    "with another body is a 422. While the first request runs, a retry waits for it and replays "
    "its answer, or gets a 409 with Retry-After if it runs too long. A request that crashed before "
    "committing left nothing behind: its retry runs anew.",
)
IDEMPOTENCY_ERRORS = errors(e422="The Idempotency-Key was used before with a different body.")
THROTTLED = errors(e429="Too many requests from this address; the Retry-After header says when to try again.")


def exact_requests_and_common_errors(result, generator, request, public):
    """What drf-spectacular cannot say by itself, for every operation:

    - request bodies accept no other properties (the API refuses unknown fields: a typo must not pass);
    - errors any operation can meet: 503 when the database does not answer, and for operations with a
      body, 413 (over MAX_REQUEST_BODY_BYTES) and 415 (declared as another type than JSON).
    """
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    common = {"503": {"description": "The database is not answering; retry after Retry-After seconds.", **error}}
    with_body = {
        "413": {"description": "The body is larger than MAX_REQUEST_BODY_BYTES.", **error},
        "415": {
            "description": "The body is declared as another type than JSON (one without Content-Type, or text/plain, is read as JSON).",
            **error,
        },
    }
    schemas = result.get("components", {}).get("schemas", {})
    for path in result["paths"].values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for status, response in {**common, **(with_body if "requestBody" in operation else {})}.items():
                responses.setdefault(status, response)
            optional = operation.pop("x-body-optional", False)  # an operation's mark: its body may be left out
            if "requestBody" in operation:  # else every body is required (a raw schema does not say so by itself)
                operation["requestBody"].setdefault("required", not optional)
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _closed_objects(media.get("schema", {}), schemas)
    return result


def _closed_objects(schema: dict, schemas: dict) -> None:
    """additionalProperties: false on a request body's objects, nested ones included (a list of passengers)."""
    ref = schema.get("$ref", "")
    component = schemas.get(ref.rsplit("/", 1)[-1]) if ref else schema
    if component is None:
        return
    if component.get("type") == "object":
        component["additionalProperties"] = False
    for nested in [*component.get("properties", {}).values(), *component.get("oneOf", [])]:
        _closed_objects(nested, schemas)
        if isinstance(nested.get("items"), dict):
            _closed_objects(nested["items"], schemas)
