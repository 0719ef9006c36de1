"""The traveller's pages: server-rendered, working without JavaScript; booking.js makes them live.

Thin like the API: each page or form checks access, checks its input against the contract every door
shares (orders/inputs.py), calls one service and redirects or renders. The forms are throttled with the
API's views of the same change (`throttled`).
"""

import math
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from core.errors import InvalidInput, ServiceError
from core.languages import request_language
from flights.selectors import flight_summary, get_flight
from inventory.selectors import flights_with_seats_left, seat_availability
from inventory.services import SeatsTaken
from orders import inputs, manage_forms, manage_preview, page_anchors, proposal_pages, services, wording
from orders.access import actor_for, authorize_order, remember_in_session
from orders.clients import client_keys
from orders.error_words import error_words, page_error_words
from orders.models import OPEN_STATES, OrderState
from orders.seatmap import fare_list, letter_header, seat_rows
from orders.selectors import OrderStatus, PassengerJSON, get_order, last_seats, order_status, waiting_passengers
from orders.services.passengers import EMAIL_PATTERN, NAME_PATTERN
from orders.throttles import scoped_wait

PageHandler = Callable[..., HttpResponse]


def throttled(*, scope: str) -> Callable[[PageHandler], PageHandler]:
    """A form's handler, counted with the API's views of the same change (settings.THROTTLE_RATES[scope],
    per client address: orders/throttles.py): past the rate, 429 and a page saying when to try again."""

    def decorate(handler: PageHandler) -> PageHandler:
        @wraps(handler)
        def counted(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            wait = scoped_wait(request, scope=scope) if request.method == "POST" else None
            if wait is not None:
                return too_many_requests(request, wait=wait)
            return handler(request, *args, **kwargs)

        return counted

    return decorate


def too_many_requests(request: HttpRequest, *, wait: float, message: str = "") -> HttpResponse:
    """429: the page that says when to try again, and the Retry-After header that says it to a program."""
    seconds = max(1, math.ceil(wait))
    text = message or _("Too many requests from your address just now. Try again in %(seconds)s seconds.") % {
        "seconds": seconds
    }
    response = render(request, "orders/closed.html", {"title": _("Please wait a moment"), "message": text}, status=429)
    response["Retry-After"] = str(seconds)
    return response


@require_safe
def home(request):
    flights = [
        {
            **flight_summary(f),
            "departs_at": f.departs_at,
            "origin_airport": f.origin_airport,
            "seats_left": f.seats_total - f.seats_taken,
            "total": f.seats_total,
        }
        for f in flights_with_seats_left()
    ]
    return render(
        request,
        "orders/home.html",
        {"flights": flights, "hold_time": wording.duration_words(settings.SEAT_HOLD_SECONDS)},
    )


@throttled(scope="create_order")
def start_booking(request, flight_code: str):
    if request.method != "POST":  # a bookmarked or typed link: show the flights instead of an empty 405
        return HttpResponseRedirect(reverse("home"))
    try:
        new = inputs.new_order(flight_code=flight_code)
        order, _token = services.create_order(
            flight_code=new.flight_code,
            actor=actor_for("session", request),
            client=client_keys(request, create_session=True),  # the order counts for the session it starts
            language=request_language(request),  # the page's: its confirmation email speaks it
        )
    except ServiceError as exc:
        if not request.session.keys():  # made for this order alone (client_keys), which was refused: not kept
            request.session.flush()
        messages.error(request, error_words(exc))
        return HttpResponseRedirect(reverse("home"))
    remember_in_session(request, order.pk)
    return HttpResponseRedirect(reverse("booking", args=[order.pk]))


@require_safe
def booking(request, order_id: str):
    try:
        access = authorize_order(request, order_id)
    except ServiceError as exc:
        return closed_page(request, exc)
    if access.via == "token" and "token" in request.GET:  # a link: the token leaves the URL
        return without_token(request, access.order_id)
    order = get_order(order_id=access.order_id)
    status = order_status(order=order)
    flight = get_flight(code=order.flight.code)
    state = status["State"]
    notices, field_errors = _split_messages(request)
    notices, placed = page_anchors.placed_messages(notices)  # a form's answer beside the form (no JavaScript)
    typed = request.session.pop(TYPED_PASSENGERS.format(order_id=order.pk), None) or {}
    waiting = waiting_passengers(order, seats=status["Seats"])
    passengers = _passenger_rows(status, field_errors, typed=typed, waiting=waiting)
    named = _all_named(status)
    return render(
        request,
        "orders/booking.html",
        {
            "order": order,
            "status": status,
            "state_words": str(wording.STATE_WORDS[state]),
            "rows": seat_rows(flight, status=status, availability=seat_availability(flight=flight).as_json()),
            "letters": letter_header(flight),
            "fares": fare_list(flight),
            "best_counts": range(1, settings.MAX_SEATS_PER_ORDER + 1),
            "flight": flight_summary(flight),
            "schedule": flight,  # its times and airports, shown in the airports' zones (flights/times.py)
            "max_attempts": settings.PAYMENT_MAX_ATTEMPTS,
            # The try running now: AttemptsLeft counts it as used from its start ("Try 1 of 3", not "2 left").
            "attempt_number": max(1, settings.PAYMENT_MAX_ATTEMPTS - status["AttemptsLeft"]),
            "server_now": timezone.now().isoformat(),
            "hold_seconds": settings.SEAT_HOLD_SECONDS,  # the countdown never shows more
            # As text: a number in a template would be localised ("10,0" on a Portuguese page).
            "keepalive_seconds": str(settings.EVENTS_KEEPALIVE_SECONDS),
            "request_timeout_seconds": str(settings.PAGE_REQUEST_TIMEOUT_SECONDS),
            "hold_expires_at": order.hold_expires_at if state == "SEATS_SELECTED" else None,
            "outcome": wording.outcome(
                status, flight_code=flight.code, attempts=settings.PAYMENT_MAX_ATTEMPTS, ended_seats=last_seats(order)
            ),
            "retrying": wording.retrying_words(status, attempts=settings.PAYMENT_MAX_ATTEMPTS),
            "words": _page_words(),
            "proposal": proposal_pages.take(request, order.pk),
            "notices": notices,
            "placed": placed,
            "passengers": passengers,
            "waiting_passengers": waiting,  # for the script's rows of seats chosen next
            "email": typed.get("email", status["ContactEmail"]),
            "email_error": field_errors.get("email", ""),
            "email_focus": "email" in field_errors and not any(p["focus"] for p in passengers),
            "can_change": state in OPEN_STATES,
            "can_pay": state == "SEATS_SELECTED" and named,
            "pay_why": _pay_why(state, named=named),
            "manage": manage_preview.manage_state(order, status),
        },
    )


def without_token(request: HttpRequest, order_id: str) -> HttpResponse:
    """A page opened with the order's token (a link with ?token=): this browser may now act on the order by
    its session, and goes on to the same page without the token (303), so that the token stays out of the
    address bar, the history, bookmarks and the server's logs."""
    remember_in_session(request, order_id)
    query = request.GET.copy()
    query.pop("token", None)
    response = HttpResponseRedirect(request.path + (f"?{query.urlencode()}" if query else ""))
    response.status_code = 303
    return response


def _page_words() -> dict[str, Any]:
    """The words the page's script needs (orders/wording.py), the names' pattern it checks first, and the
    states in which seats may change (orders.models.OPEN_STATES)."""
    words = {
        "openStates": list(OPEN_STATES),
        "states": wording.STATE_WORDS,
        "seats": wording.SEAT_WORDS,
        "finals": wording.FINAL_TITLES,
        "payWhy": wording.PAY_WHY,
        "passengers": wording.PASSENGER_WORDS,
        "connection": wording.CONNECTION_WORDS,
        "ended": wording.page_ended_words(attempts=settings.PAYMENT_MAX_ATTEMPTS),
        "best": {**wording.BEST_WORDS, "zoneNames": wording.ZONE_NAMES},
        "errors": page_error_words(),
        "page": wording.SCRIPT_WORDS,
        "namePattern": NAME_PATTERN,
        "emailPattern": EMAIL_PATTERN,
    }
    return _translated(words)


def _translated(value: Any) -> Any:
    """The page's words with every lazy string said in the request's language (json_script cannot)."""
    if isinstance(value, dict):
        return {key: _translated(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_translated(item) for item in value]
    return str(value) if isinstance(value, Promise) else value


def _pay_why(state: str, *, named: bool) -> str:
    """Why Pay is closed, as a key of wording.PAY_WHY ("" when it is open or the booking is over)."""
    if state == "PENDING":
        return "seats"
    return "names" if state == "SEATS_SELECTED" and not named else ""


def _all_named(status: OrderStatus) -> bool:
    named = {p["seat"] for p in status["Passengers"]}
    return bool(status["Seats"]) and named >= set(status["Seats"])


# The passenger form's handler (orders/booking_pages.py) reports a refused field as a message that names
# it, e.g. "passengers[1].lastName: ..." (the n-th seat as the form sent them, in the order's seat order).
FIELD_MESSAGE = re.compile(r"^(?:passengers\[(\d+)\]\.(firstName|lastName)|(email)): (.+)$", re.DOTALL)


def _split_messages(request) -> tuple[list[Any], dict[Any, str]]:
    """This request's messages: those about one field of the passenger form go beside that field."""
    notices, field_errors = [], {}
    for message in messages.get_messages(request):
        found = FIELD_MESSAGE.match(str(message))
        if not found:
            notices.append(message)
            continue
        index, name, email, text = found.groups()
        key = "email" if email else (int(index), name)
        field_errors[key] = text[:1].upper() + text[1:]
    return notices, field_errors


# What the form without JavaScript sent and the server refused, for the page to show again: the form's
# handler (booking_pages.passengers) keeps it in the session under this key, as
# {"passengers": [{seat, firstName, lastName}], "email"}; the page takes it out once shown.
TYPED_PASSENGERS = "typed-passengers:{order_id}"


def _passenger_rows(
    status: OrderStatus, field_errors: dict[Any, str], *, typed: dict, waiting: list[PassengerJSON]
) -> list[dict[str, str]]:
    """One row of the passenger form per held seat, filled with what was typed (if refused) or else the
    names given so far, a seat without one taking the next name `waiting` for a seat; `focus` on the first
    field refused ("first" or "last")."""
    given: dict[str, dict[str, str]] = {
        p["seat"]: {"firstName": p["firstName"], "lastName": p["lastName"]} for p in status["Passengers"]
    }
    given.update({p["seat"]: p for p in typed.get("passengers", []) if isinstance(p, dict) and "seat" in p})
    unnamed = [s for s in status["Seats"] if s not in given]
    given.update(
        zip(unnamed, [{"firstName": p["firstName"], "lastName": p["lastName"]} for p in waiting], strict=False)
    )
    rows = []
    for n, seat in enumerate(status["Seats"]):
        first_error, last_error = field_errors.get((n, "firstName"), ""), field_errors.get((n, "lastName"), "")
        rows.append(
            {
                "seat": seat,
                "first": given.get(seat, {}).get("firstName", ""),
                "last": given.get(seat, {}).get("lastName", ""),
                "first_error": first_error,
                "last_error": last_error,
                "focus": "",
            }
        )
        if (first_error or last_error) and not any(r["focus"] for r in rows):
            rows[-1]["focus"] = "first" if first_error else "last"
    return rows


@require_POST
@throttled(scope="change_seats")
def booking_seats(request, order_id: str):
    """The no-JavaScript seat form: the checked boxes are the whole selection (or a proposal's seats); for a
    paid booking, its new seats (the change page's form, with the payment code for a dearer change)."""
    labels = [label.strip().upper() for label in request.POST.getlist("seats")]
    code = inputs.form_value(request.POST, "code").strip() or None

    def change(access):
        try:
            return services.change_seats_or_selection(
                order_id=access.order_id,
                labels=inputs.seat_choice(seats=labels),
                state=access.state,
                code=code,
                actor=access.actor,
                staff=access.staff,
            )
        except SeatsTaken:
            if access.state != OrderState.CONFIRMED:
                proposal_pages.propose_again(request, access.order_id)  # a proposal lost a seat: a fresh one
            raise

    def refused(access):
        return manage_forms.change_refused(request, access.order_id, labels=labels)

    return _act(request, order_id, change, done=_("Seats updated."), paid=(manage_forms.change_words, refused))


@require_POST
@throttled(scope="payment")
def booking_pay(request, order_id: str):
    return _act(
        request,
        order_id,
        lambda access: services.submit_payment(
            order_id=access.order_id,
            code=inputs.payment(code=inputs.form_value(request.POST, "code").strip()),
            actor=access.actor,
        ),
        done=_("Payment submitted."),
        refused_in="payment-error",
    )


@require_POST  # not throttled, as the API's cancel: it only frees the traveller's own seats
def booking_cancel(request, order_id: str):
    """Cancel an unpaid order; or a paid booking, from its confirmation page: all its seats, or those ticked
    there (field "choosing" says the ticks were offered: none ticked is then refused, not "all")."""
    seats = [label.strip().upper() for label in request.POST.getlist("seats")]

    def cancel(access):
        if request.POST.get("choosing") and not seats:
            raise InvalidInput(_("Choose at least one seat to cancel."), code="no_seats_chosen")
        return services.cancel_order_or_booking(
            order_id=access.order_id, state=access.state, actor=access.actor, seats=seats or None, staff=access.staff
        )

    done = _("Booking cancelled; the seats are free again.")
    paid = (lambda changed: manage_forms.cancel_words(changed, seats=seats), manage_forms.cancel_refused)
    return _act(request, order_id, cancel, done=done, anchor=page_anchors.OUTCOME, paid=paid)


def _act(
    request,
    order_id: str,
    change,
    *,
    done: str,
    anchor: str = page_anchors.SUMMARY,
    refused_in: str = "seat-error",
    paid: tuple[Callable, Callable] | None = None,
):
    """Run the form's change; back to the page at `anchor`, or on a refusal at the summary, the refusal said
    in the paragraph `refused_in` (orders/page_anchors.py). For a paid booking, `paid` is (what the change's
    result is said as, where a refusal goes): an answer on the booking page's manage part."""
    try:
        access = authorize_order(request, order_id)
    except ServiceError as exc:
        return closed_page(request, exc)
    paid_booking = paid is not None and access.state == OrderState.CONFIRMED
    try:
        changed = change(access)
        messages.success(request, paid[0](changed) if paid and paid_booking else done)
    except ServiceError as exc:
        page_anchors.place_message(request, messages.ERROR, error_words(exc), place=refused_in)
        if paid and paid_booking:
            return paid[1](access)
        anchor = page_anchors.SUMMARY
    return page_anchors.back_to(order_id, "manage" if paid_booking else anchor)


def closed_page(request, exc: ServiceError) -> HttpResponse:
    """The page a booking door answers when the booking is not there or not open to this browser, in the
    traveller's words (never the API's instructions about tokens)."""
    if exc.status == 404:
        title = _("We cannot find this booking")
        message = _("Check the address, or start a new booking from the flights on offer.")
    elif exc.code == "token_expired":
        title, message = _("This link has stopped working"), error_words(exc)
    else:
        title = _("This booking is not open to you")
        message = _(
            "This booking was started in another browser: open it there. Once it is booked, Find my booking "
            "opens it in this browser too, with its booking reference and a passenger's last name."
        )
    return render(request, "orders/closed.html", {"title": title, "message": message}, status=exc.status)


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says: send them to the static one."""
    return HttpResponsePermanentRedirect(static("favicon.ico"))
