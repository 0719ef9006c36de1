"""GET /orders/{id}/seats/best: the seats the server would choose together, with their price, before
anything is held (orders/seat_proposals.py). The booking page's script asks it; holding them is the
ordinary seat change, POST /orders/{id}/seats with exactly these seats."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.drf import ScopedThrottle
from core.errors import InvalidInput
from core.openapi import ORDER_ERRORS, THROTTLED, errors
from orders import inputs
from orders.access import authorize_order
from orders.seat_proposals import propose_best_seats

QUERY = ("count", "zone")

SEAT_PROPOSAL = inline_serializer(
    "SeatProposal",
    {
        "orderID": serializers.CharField(),
        "seats": serializers.ListField(
            child=serializers.CharField(), help_text="The seats proposed, in seat-map order."
        ),
        "zones": serializers.ListField(child=serializers.CharField(), help_text="Their cabin zones, front first."),
        "total": serializers.CharField(help_text='What the order would pay for them, e.g. "258.00".'),
        "currency": serializers.CharField(help_text="ISO 4217 code of the amounts."),
        "heldSeats": serializers.ListField(child=serializers.CharField(), help_text="The seats the order holds now."),
        "heldTotal": serializers.CharField(help_text='What they cost ("0.00" when none).'),
        "difference": serializers.CharField(
            help_text='total less heldTotal, e.g. "80.00" (more) or "-10.00" (less than the seats held now).'
        ),
    },
)


class BestSeatsProposalView(APIView):
    """Propose `count` seats together, as `{"best": count}` would hold them now (within `zone` if given;
    else from the cheapest zone where they sit together), with their total and its difference against the
    seats the order holds. Nothing is held: to take them, POST /orders/{id}/seats with `{"seats": seats}`
    (409 `seats_taken` if one was taken meanwhile: ask again)."""

    throttle_classes = [ScopedThrottle]
    throttle_scope = "change_seats"

    @extend_schema(
        tags=["orders"],
        parameters=[
            OpenApiParameter(
                "count",
                {"type": "integer", "minimum": 1, "maximum": settings.MAX_SEATS_PER_ORDER},
                OpenApiParameter.QUERY,
                required=True,
                description="How many seats together.",
            ),
            OpenApiParameter(
                "zone",
                {"type": "string", "minLength": 1, "maxLength": inputs.ZONE_MAX_LENGTH},
                OpenApiParameter.QUERY,
                required=False,
                description="Only seats of this cabin zone (GET /flights/{id} lists them; any case).",
            ),
        ],
        responses={
            200: SEAT_PROPOSAL,
            **ORDER_ERRORS,
            **THROTTLED,
            **errors(
                e400="A count not 1-9 (`invalid_seat_count`, `too_many_seats`), a zone the flight has not "
                "(`invalid_zone`, naming its zones), or another query parameter (`invalid`).",
                e409="Fewer seats free than asked for (`not_enough_seats`, with `free` and `short`), the hold "
                "expired (`hold_expired`), or the order cannot change seats now (`wrong_state`).",
            ),
        },
    )
    def get(self, request, order_id: str):
        access = authorize_order(request, order_id)
        query = request.query_params
        unknown = sorted(set(query) - set(QUERY))
        if unknown:
            raise InvalidInput(f"Unknown query parameter(s): {', '.join(unknown)}. Expected: count, zone.")
        zone = inputs.form_value(query, "zone") if "zone" in query else None
        if zone == "":
            raise InvalidInput("Leave zone out for any zone, or name one.", code="invalid_zone")
        wanted = inputs.best_seats(count=inputs.form_value(query, "count") or None, zone=zone)
        proposal = propose_best_seats(order_id=access.order_id, count=wanted.count, zone=wanted.zone)
        return Response(proposal.as_json())
