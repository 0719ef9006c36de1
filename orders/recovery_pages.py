"""The "Hold the same seats again" button of a booking that ended unpaid (payment declined, hold lapsed,
cancelled): a plain form, with JavaScript or without. Thin: check access, call the one service
(orders/services/recovery.py), then go to the new booking's page, saying which seats it holds and which
were taken meanwhile."""

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.errors import ServiceError
from orders import services
from orders.access import authorize_order, remember_in_session
from orders.clients import client_keys
from orders.error_words import error_words
from orders.views import closed_page, throttled


@require_POST
@throttled(scope="create_order")  # it makes an order, as the API's create does
def hold_again(request, order_id: str) -> HttpResponse:
    try:
        access = authorize_order(request, order_id)
    except ServiceError as exc:
        return closed_page(request, exc)
    try:
        again = services.hold_again(
            order_id=access.order_id,
            actor=access.actor,
            client=client_keys(request, create_session=True),  # the new order counts for this browser
        )
    except ServiceError as exc:
        messages.error(request, error_words(exc))
        return _see(order_id)
    remember_in_session(request, again.order.pk)
    said = held_again_words(again)
    (messages.warning if again.taken else messages.success)(request, said)
    return _see(again.order.pk)


def held_again_words(again: services.HoldAgain) -> str:
    """What the new booking's page says first: which seats were taken meanwhile, which are held again, who
    still needs a seat, and what was filled in."""
    if again.repeated:
        return _("You held these seats again already: this is that booking.")
    said = []
    if again.taken:
        taken = ", ".join(again.taken)
        said.append(
            ngettext(
                "Seat %(seats)s was taken by another traveller meanwhile.",
                "Seats %(seats)s were taken by other travellers meanwhile.",
                len(again.taken),
            )
            % {"seats": taken}
        )
    if again.held:
        said.append(
            ngettext(
                "Seat %(seats)s is held for you again.", "Seats %(seats)s are held for you again.", len(again.held)
            )
            % {"seats": ", ".join(again.held)}
        )
    else:
        said.append(_("Choose other seats on the map."))
    if again.unseated:
        names = ", ".join(f"{p['firstName']} {p['lastName']}" for p in again.unseated)
        said.append(
            ngettext("Choose a seat for %(names)s.", "Choose seats for %(names)s.", len(again.unseated))
            % {"names": names}
        )
    if again.held and again.order.passengers:
        said.append(_("The names and email you gave are filled in: check them, then pay."))
    elif again.order.contact_email:
        said.append(_("The email you gave is filled in."))
    return " ".join(said)


def _see(order_id: str) -> HttpResponseRedirect:
    """303: the booking's page, fetched afresh (a reload does not post again)."""
    response = HttpResponseRedirect(reverse("booking", args=[order_id]))
    response.status_code = 303
    return response
