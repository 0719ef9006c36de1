"""The "Find seats together" proposal on the page without JavaScript: the form's handler (booking_pages.best_seats)
proposes and keeps the proposal in the session; the booking page shows it once, with a "Hold these seats"
button that posts exactly its labels to the seat form's handler (views.booking_seats), which proposes
afresh when one of them was taken meanwhile."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest

from core.errors import ServiceError
from orders import inputs, wording
from orders.error_words import error_words
from orders.seat_proposals import propose_best_seats

# The proposal to show on the order's page, as orders/seat_proposals.py as_json() gives it.
PROPOSAL = "seat-proposal:{order_id}"
# The "Hold these seats" button's name and value: the seat form's handler knows a proposal by it.
HOLD_BUTTON = ("hold", "proposal")


def propose(request: HttpRequest, order_id: str) -> None:
    """Propose the seats the form asks for (fields count and zone) and keep them for the page; raises
    the refusal (ServiceError)."""
    wanted = inputs.best_seats(
        count=inputs.form_value(request.POST, "count").strip(),
        zone=inputs.form_value(request.POST, "zone").strip(),
    )
    proposal = propose_best_seats(order_id=order_id, count=wanted.count, zone=wanted.zone)
    asked = {"count": proposal.count, "zone": proposal.zone or ""}  # the form shows them again
    request.session[PROPOSAL.format(order_id=order_id)] = {**proposal.as_json(), **asked}


def propose_again(request: HttpRequest, order_id: str) -> None:
    """A proposal held from the page lost a seat: propose afresh (or say why there is none)."""
    if request.POST.get(HOLD_BUTTON[0]) != HOLD_BUTTON[1]:
        return
    try:
        propose(request, order_id)
    except ServiceError as exc:
        messages.error(request, error_words(exc))


def take(request: HttpRequest, order_id: str) -> dict[str, Any] | None:
    """The proposal to show once on the order's page, with its sentence; None if there is none."""
    shown = request.session.pop(PROPOSAL.format(order_id=order_id), None)
    if not isinstance(shown, dict):
        return None
    return {**shown, "text": wording.proposal_words(shown)}
