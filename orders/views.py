"""The traveller's pages: server-rendered, working without JavaScript; booking.js makes them live.

Thin like the API: each page or form check access, calls one service and redirects or renders.
"""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponsePermanentRedirect, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.errors import ServiceError
from flights.selectors import flight_summary, get_flight
from inventory.selectors import flights_with_seats_left, seat_availability
from orders import services, wording
from orders.access import actor_for, authorize_order, remember_in_session
from orders.seatmap import letter_header, seat_rows
from orders.selectors import get_order, order_status


@require_GET
def home(request):
    flights = [
        {
            **flight_summary(f),
            "departs_at": f.departs_at,
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


def start_booking(request, flight_code: str):
    if request.method != "POST":  # a bookmarked or typed link: show the flights instead of an empty 405
        return HttpResponseRedirect(reverse("home"))
    try:
        order, _token = services.create_order(flight_code=flight_code, actor=actor_for("session", request))
    except ServiceError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("home"))
    remember_in_session(request, order.pk)
    return HttpResponseRedirect(reverse("booking", args=[order.pk]))


@require_GET
def booking(request, order_id: str):
    try:
        access = authorize_order(request, order_id)
    except ServiceError as exc:
        return _closed(request, exc)
    if access.via == "token":  # opened with ?token=: this browser may now act on the order too
        remember_in_session(request, access.order_id)
    order = get_order(order_id=access.order_id)
    status = order_status(order=order)
    flight = get_flight(code=order.flight.code)
    state = status["State"]
    return render(
        request,
        "orders/booking.html",
        {
            "order": order,
            "status": status,
            "state_words": wording.STATE_WORDS[state],
            "rows": seat_rows(flight, status=status, availability=seat_availability(flight=flight).as_json()),
            "letters": letter_header(flight),
            "flight": flight_summary(flight),
            "max_attempts": settings.PAYMENT_MAX_ATTEMPTS,
            "server_now": timezone.now().isoformat(),
            "hold_expires_at": order.hold_expires_at if state == "SEATS_SELECTED" else None,
            "outcome": wording.outcome(status, flight_code=flight.code, attempts=settings.PAYMENT_MAX_ATTEMPTS),
            "words": {
                "states": wording.STATE_WORDS,
                "seats": wording.SEAT_WORDS,
                "finals": wording.FINAL_TITLES,
            },
            "can_change": state in ("PENDING", "SEATS_SELECTED"),
            "can_pay": state == "SEATS_SELECTED",
        },
    )


@require_POST
def booking_seats(request, order_id: str):
    """The no-JavaScript seat form: the checked boxes are the whole selection."""
    return _act(
        request,
        order_id,
        lambda access: services.select_seats(
            order_id=access.order_id,
            labels=[label.strip().upper() for label in request.POST.getlist("seats")],
            actor=access.actor,
        ),
        done="Seats updated.",
    )


@require_POST
def booking_pay(request, order_id: str):
    return _act(
        request,
        order_id,
        lambda access: services.submit_payment(
            order_id=access.order_id, code=request.POST.get("code", "").strip(), actor=access.actor
        ),
        done="Payment submitted.",
    )


@require_POST
def booking_cancel(request, order_id: str):
    return _act(
        request,
        order_id,
        lambda access: services.cancel_order(order_id=access.order_id, actor=access.actor),
        done="Booking cancelled; the seats are free again.",
    )


def _act(request, order_id: str, change, *, done: str):
    try:
        access = authorize_order(request, order_id)
    except ServiceError as exc:
        return _closed(request, exc)
    try:
        change(access)
        messages.success(request, done)
    except ServiceError as exc:
        messages.error(request, exc.message)
    return HttpResponseRedirect(reverse("booking", args=[order_id]))


def _closed(request, exc: ServiceError):
    if exc.status == 404:
        title = "We cannot find this booking"
        message = "Check the address, or start a new booking from the flights on offer."
    else:
        title = "This booking is not open to you"
        message = (
            "This booking was started in another browser or by the API. Open it there, or add "
            "?token=<its token> to this address."
        )
    return render(request, "orders/closed.html", {"title": title, "message": message}, status=exc.status)


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says: send them to the static one."""
    return HttpResponsePermanentRedirect(static("favicon.ico"))
