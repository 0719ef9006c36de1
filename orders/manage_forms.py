"""The answers of the booking's seats and cancel forms (orders/views.py) when the booking is paid: what the
change did, said on the booking page, or a refusal taken back to the change or cancellation page."""

from typing import Any

from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from orders.models import OrderState

# The seats a paid booking's change form sent and the server refused: the change page ticks them again.
CHOSEN_SEATS = "chosen-seats:{order_id}"


def change_words(changed: Any) -> str:
    """What a paid booking's seat change did, as the booking page says it."""
    running = changed.status["Change"]
    if running and running["State"] == "CHARGING":
        return _("Seat change asked for: the difference is being paid. This page shows the outcome.")
    return _("Your seats are now %(seats)s.") % {"seats": ", ".join(changed.status["Seats"])}


def change_refused(request: HttpRequest, order_id: str, *, labels: list[str]) -> HttpResponseRedirect:
    """Back to the change page (the refusal placed there), the seats chosen kept ticked."""
    request.session[CHOSEN_SEATS.format(order_id=order_id)] = labels
    return HttpResponseRedirect(reverse("booking-change", args=[order_id]) + "#change-form")


def cancel_words(changed: Any, *, seats: list[str]) -> str:
    if changed.status["State"] == OrderState.CANCELLED:
        return _("Booking cancelled; the seats are on sale again.")
    return _("Seats cancelled: %(seats)s.") % {"seats": ", ".join(seats)}


def cancel_refused(access: Any) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("booking-cancel-confirm", args=[access.order_id]) + "#cancel-form")
