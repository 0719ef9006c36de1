"""Pages beside the booking page: find my booking, the printable receipt, and the handlers of the passenger
form and the "Find N seats together" form (the booking page posts to them). Thin: check access, check the
input against the contract every door shares (orders/inputs.py), call one service or selector."""

import unicodedata

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core import client_address
from core.errors import ServiceError
from orders import inputs, page_anchors, proposal_pages, services, wording
from orders.access import OrderAccess, authorize_order, remember_in_session
from orders.error_words import error_words
from orders.receipt import receipt_of
from orders.selectors import get_order
from orders.throttles import find_booking_throttled, find_booking_wait
from orders.views import TYPED_PASSENGERS, closed_page, throttled, without_token

FORM_FIELD_MAX = 200  # longer values are refused anyway (orders/inputs.py); cut, they keep the page short


@never_cache  # names and the email address: no shared or back-button copy
@require_http_methods(["GET", "HEAD", "POST"])
def find_booking(request):
    """Reference + a passenger's last name -> this browser may open the booking (as its session)."""
    if request.method != "POST":
        return render(request, "orders/find_booking.html", {})
    reference = request.POST.get("reference", "")[:FORM_FIELD_MAX]
    last_name = _typed(request.POST.get("last_name", ""))
    context = {"reference": reference, "last_name": last_name}
    wait = find_booking_wait(request)  # per address, with the API's requests (FindBookingThrottle)
    if wait is not None:
        context["error"] = _("Too many attempts from your address. Try again in %(seconds)s seconds.") % {
            "seconds": max(1, round(wait))
        }
        response = render(request, "orders/find_booking.html", context, status=429)
        response["Retry-After"] = str(max(1, round(wait)))
        return response
    try:
        asked = inputs.booking_lookup(reference=inputs.form_value(request.POST, "reference"), last_name=last_name)
        order = find_booking_throttled(
            reference=asked.reference, last_name=asked.last_name, address=client_address.of(request)
        )
    except ServiceError as exc:
        response = render(
            request, "orders/find_booking.html", {**context, "error": error_words(exc)}, status=exc.status
        )
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    request.session.cycle_key()  # a new session key once it opens a booking (no fixation)
    remember_in_session(request, order.pk)
    return HttpResponseRedirect(reverse("booking", args=[order.pk]))


@never_cache
@require_safe
def receipt(request, order_id: str):
    """The printable confirmation of a booking (for an order not yet confirmed, what it holds so far)."""
    access = _access(request, order_id)
    if isinstance(access, HttpResponse):
        return access
    if access.via == "token" and "token" in request.GET:  # a link: the token leaves the URL
        return without_token(request, access.order_id)
    found = receipt_of(get_order(order_id=access.order_id))
    context = {"receipt": found, "state_words": str(wording.STATE_WORDS.get(found.state, found.state))}
    return render(request, "orders/receipt.html", context)


@require_POST
@throttled(scope="change_seats")  # as the API's passengers
def passengers(request, order_id: str):
    """The passenger form: fields seat, first_name and last_name repeated per held seat, and email."""
    access = _access(request, order_id)
    if isinstance(access, HttpResponse):
        return access
    rows = zip(
        request.POST.getlist("seat"),
        request.POST.getlist("first_name"),
        request.POST.getlist("last_name"),
        strict=False,
    )
    given = [
        {"seat": s[:FORM_FIELD_MAX].strip().upper(), "firstName": _typed(f), "lastName": _typed(last)}
        for s, f, last in rows
    ]
    email = request.POST.get("email", "")[:FORM_FIELD_MAX].strip()
    try:
        checked = inputs.passengers(given=given, email=inputs.form_value(request.POST, "email").strip())
        services.set_passengers(
            order_id=access.order_id, passengers=checked.passengers, email=checked.email, actor=access.actor
        )
        page_anchors.place_message(request, messages.SUCCESS, _("Passengers saved."), place="passenger-saved")
    except ServiceError as exc:
        # Beside its field when it names one (orders/views.py FIELD_MESSAGE), else above the form.
        page_anchors.place_message(request, messages.ERROR, _field_error(exc), place="passenger-error")
        # The page shows the refused form again as typed, so nobody types every name twice.
        request.session[TYPED_PASSENGERS.format(order_id=access.order_id)] = {"passengers": given, "email": email}
        # No fragment: the refused field takes the focus (autofocus), which a fragment would cancel.
        return HttpResponseRedirect(reverse("booking", args=[order_id]))
    return page_anchors.back_to(order_id, page_anchors.PASSENGERS)


@require_POST
@throttled(scope="change_seats")  # as the API's seat changes
def best_seats(request, order_id: str):
    """The "Find N seats together" form without JavaScript: fields `count` (1-9) and `zone` (optional).
    It proposes (nothing is held): the booking page shows the seats and their price, and a button that
    holds exactly them (orders/proposal_pages.py)."""
    access = _access(request, order_id)
    if isinstance(access, HttpResponse):
        return access
    try:
        proposal_pages.propose(request, access.order_id)
    except ServiceError as exc:
        page_anchors.place_message(request, messages.ERROR, error_words(exc), place="best-error")
        return page_anchors.back_to(order_id, page_anchors.BEST_FORM)
    # No fragment: the page's "Hold these seats" takes the focus (autofocus), which a fragment would cancel.
    return HttpResponseRedirect(reverse("booking", args=[order_id]))


def _access(request, order_id: str) -> OrderAccess | HttpResponse:
    """The request's access to the order, or the closed page saying why it has none."""
    try:
        return authorize_order(request, order_id)
    except ServiceError as exc:
        return closed_page(request, exc)


def _field_error(exc: ServiceError) -> str:
    """A refusal of the passenger form, naming its field as the booking page expects ("passengers[1].lastName:
    ..." or "email: ...", orders/views.py FIELD_MESSAGE) so that it shows beside that field, in the page's words."""
    field = exc.extra.get("field") or ("email" if exc.code == "invalid_email" else "")
    text = error_words(exc)
    return f"{field}: {text}" if field and not text.startswith(f"{field}: ") else text


def _typed(value: str) -> str:
    """A name as a person typed it into a form: composed accents, single spaces, no spaces around."""
    return " ".join(unicodedata.normalize("NFC", value[:FORM_FIELD_MAX]).split())
