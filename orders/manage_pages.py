"""Manage a paid booking, as pages that work without JavaScript: change its seats (a map of tick boxes, the
price difference shown before anything changes, the payment code for a dearer change) and cancel it after a
confirmation step stating the refund. The changes themselves are posted to the booking's seats and cancel
forms (orders/views.py), which call the services every door shares."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_safe

from core.errors import ServiceError
from flights.selectors import flight_summary, get_flight
from inventory.selectors import seat_availability
from orders import inputs, manage_preview, page_anchors
from orders.access import authorize_order
from orders.error_words import error_words
from orders.manage_forms import CHOSEN_SEATS
from orders.models import OrderState
from orders.seatmap import fare_list, letter_header, seat_rows
from orders.selectors import get_order, order_status
from orders.views import _split_messages, closed_page


@require_http_methods(["GET", "HEAD", "POST"])
def change_seats(request: HttpRequest, order_id: str) -> HttpResponse:
    """The change page. GET: the map with the booking's seats ticked (or those last refused); POST (from its
    "See the price" button): the same with the ticked seats and what changing to them costs. Nothing changes
    here: the form's "Change seats" button posts to the booking's seats form."""
    try:
        access = authorize_order(request, order_id)
    except ServiceError as exc:
        return closed_page(request, exc)
    order = get_order(order_id=access.order_id)
    status = order_status(order=order)
    if status["State"] != OrderState.CONFIRMED:
        return page_anchors.back_to(order.pk, page_anchors.SUMMARY)
    kept = request.session.pop(CHOSEN_SEATS.format(order_id=order.pk), None)
    chosen = request.POST.getlist("seats") if request.method == "POST" else (kept or status["Seats"])
    preview, error = None, ""
    try:
        labels = inputs.seat_choice(seats=[label.strip().upper() for label in chosen])
        preview = manage_preview.change_preview(order, labels=labels)
    except ServiceError as exc:
        labels, error = [], error_words(exc)
    if request.method == "POST" and not error and preview is None and set(labels) != set(status["Seats"]):
        count = len(status["Seats"])
        error = ngettext(
            "Tick %(count)s seat, as many as the booking has.",
            "Tick %(count)s seats, as many as the booking has.",
            count,
        ) % {"count": count}
    flight = get_flight(code=order.flight.code)
    rows = seat_rows(flight, status=status, availability=seat_availability(flight=flight).as_json())
    notices, _fields = _split_messages(request)
    notices, placed = page_anchors.placed_messages(notices)
    return render(
        request,
        "orders/change_seats.html",
        {
            "order": order,
            "status": status,
            "flight": flight_summary(flight),
            "rows": rows,
            "chosen": set(labels),
            "letters": letter_header(flight),
            "fares": fare_list(flight),
            "preview": preview,
            "error": error or placed.get("seat_error", ""),
            "notices": notices,
            "open": manage_preview.changes_open(order),
            "running": bool(status["Change"] and status["Change"]["State"] == "CHARGING"),
        },
    )


@require_safe
def confirm_cancel(request: HttpRequest, order_id: str) -> HttpResponse:
    """The cancellation's confirmation step: the seats, what is refunded by the policy, and (where partial
    cancellations are allowed) which seats to give back."""
    try:
        access = authorize_order(request, order_id)
    except ServiceError as exc:
        return closed_page(request, exc)
    order = get_order(order_id=access.order_id)
    status = order_status(order=order)
    if status["State"] != OrderState.CONFIRMED:
        return page_anchors.back_to(order.pk, page_anchors.SUMMARY)
    notices, _fields = _split_messages(request)
    notices, placed = page_anchors.placed_messages(notices)
    return render(
        request,
        "orders/cancel_booking.html",
        {
            "order": order,
            "status": status,
            "flight": flight_summary(order.flight),
            "preview": manage_preview.cancel_preview(order),
            "partial": settings.PARTIAL_CANCELLATION and len(status["Seats"]) > 1,
            "open": manage_preview.changes_open(order),
            "error": placed.get("seat_error", ""),
            "notices": notices,
        },
    )
