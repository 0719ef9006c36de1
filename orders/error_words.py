"""A refusal as the pages say it, in the page's language. Services refuse with an English
`ServiceError.message` and a stable `code` (core/errors.py); the API answers with both, in English. The
pages look the code up here instead: the forms without JavaScript (their messages) and the page's script
(page-words "errors", filled in the same way from the JSON answer's fields). A code not listed here is
shown with the server's own text, and so is every refusal on an English page: the services' messages are
English already, and more precise than one sentence per code (which of a name's letters is refused).

Words take the refusal's fields by name in braces ({seats}, {retry_after}), as the JSON answer carries them;
{max} is the seat limit of an order."""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy

from core.errors import ServiceError
from orders.wording import PASSENGER_WORDS

ERROR_WORDS: dict[str, str | Promise] = {
    "invalid": gettext_lazy("This was not accepted. Check what you entered and try again."),
    "invalid_seat_label": gettext_lazy("A seat is a row number and a letter, like 12C."),
    "invalid_seat_count": gettext_lazy("Say how many seats you want together, 1 to {max}."),
    "invalid_zone": gettext_lazy("This flight has no such cabin zone. Choose one from the list."),
    "invalid_reference": gettext_lazy(
        "A booking reference is 6 letters and digits, like K7MX3Q, as in the confirmation email."
    ),
    "invalid_passengers": gettext_lazy("Name a passenger for each held seat."),
    "invalid_name": PASSENGER_WORDS["name"],
    "invalid_email": PASSENGER_WORDS["email"],
    "invalid_payment_code": gettext_lazy("The payment code is exactly 5 digits, like 12345. No try was used."),
    "too_many_seats": gettext_lazy("One booking holds at most {max} seats."),
    "duplicate_seats": gettext_lazy("Choose each seat once (chosen twice: {seats})."),
    "unknown_seats": gettext_lazy("This flight has no seat {seats}."),
    "seats_taken": gettext_lazy("Already taken by another traveller: {seats}. Choose other seats."),
    "not_enough_seats": gettext_lazy(
        "Only {free} seats are free together for this choice; you asked for {requested}. Ask for fewer, or "
        "another zone."
    ),
    "hold_expired": gettext_lazy(
        "The time to pay for these seats ran out before this was done, so they were released."
    ),
    "wrong_state": gettext_lazy(
        "The booking has moved on, so this cannot be done now. The page shows where it stands."
    ),
    "not_ended": gettext_lazy("Only a booking that ended without being paid can be held again."),
    "passengers_do_not_match_seats": gettext_lazy("Name one passenger for each held seat, once each."),
    "unknown_order": gettext_lazy("We cannot find this booking."),
    "unknown_flight": gettext_lazy("We cannot find this flight."),
    "invalid_flight_code": gettext_lazy("We cannot find this flight."),
    "invalid_order_id": gettext_lazy("We cannot find this booking."),
    "booking_not_found": gettext_lazy(
        "No booking has this reference with a passenger of this last name. Check both against your confirmation email."
    ),
    "wrong_token": gettext_lazy("This booking is not open to you in this browser."),
    "token_required": gettext_lazy("This booking is not open to you in this browser."),
    "token_expired": gettext_lazy(
        "This link has stopped working. Find my booking opens the booking again with its reference and a "
        "passenger's last name."
    ),
    "csrf_failed": gettext_lazy("The page was open too long to accept this. Reload the page and try again."),
    "throttled": gettext_lazy("Too many attempts from your address. Try again in {retry_after} seconds."),
    "client_hold_limit": gettext_lazy(
        "You hold as many seats on this flight as one traveller may ({limit}). Pay for or cancel another "
        "booking, choose fewer seats, or try again in {retry_after} seconds."
    ),
    "client_order_limit": gettext_lazy(
        "You have as many bookings open as one traveller may ({limit}). Pay for or cancel one of them, or try "
        "again in {retry_after} seconds."
    ),
    "payment_code_required": gettext_lazy(
        "These seats cost {difference} {currency} more: enter your 5-digit payment code to pay the difference."
    ),
    "seat_count_differs": gettext_lazy(
        "A change keeps the number of seats: choose as many as the booking has. To travel with fewer, cancel "
        "some seats."
    ),
    "changes_closed": gettext_lazy(
        "Changes to this booking have closed before departure. Contact the airline's staff."
    ),
    "change_in_progress": gettext_lazy(
        "A seat change of this booking is being paid for. Wait for its outcome on the booking page."
    ),
    "not_booked_seats": gettext_lazy("This booking has no seat {seats}."),
    "partial_cancellation_off": gettext_lazy("A booking is cancelled whole: keep every seat ticked."),
    "no_seats_chosen": gettext_lazy("Choose at least one seat to cancel."),
    "busy": gettext_lazy("We are busy just now and nothing was changed. Try again in a moment."),
    "database_unavailable": gettext_lazy(
        "We cannot reach our bookings right now, so nothing was done. Try again in a few seconds."
    ),
}


# Refusals whose services' message speaks to API clients (a field's name, an API path, a token, a header):
# the pages say these words in English too.
PAGE_WORDS_ALWAYS = frozenset(
    {
        "payment_code_required",
        "change_in_progress",
        "partial_cancellation_off",
        "wrong_token",
        "token_required",
        "token_expired",
        "csrf_failed",
    }
)


def _speaks_services_language() -> bool:
    return (get_language() or settings.LANGUAGE_CODE).split("-")[0] == "en"


class _Fields(dict):
    """The refusal's fields for str.format_map: lists as "12A, 12B"; a field it lacks stays as {name}."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(words: str, fields: Mapping[str, Any]) -> str:
    values = _Fields({"max": settings.MAX_SEATS_PER_ORDER})
    for key, value in fields.items():
        values[key] = ", ".join(map(str, value)) if isinstance(value, list | tuple) else value
    try:
        return words.format_map(values)
    except (ValueError, IndexError):  # a stray brace in the words: shown as they are
        return words


def error_words(exc: ServiceError) -> str:
    """What the page says for a refusal, in the active language (the server's text for an unknown code)."""
    words = ERROR_WORDS.get(exc.code)
    if words is None or (_speaks_services_language() and exc.code not in PAGE_WORDS_ALWAYS):
        return exc.message
    return fill(str(words), {**exc.extra, "retry_after": exc.retry_after or 1})


def page_error_words() -> dict[str, str]:
    """The table for the page's script (page-words "errors"), {max} filled in; on an English page only the
    refusals whose services' message speaks to API clients (PAGE_WORDS_ALWAYS)."""
    english = _speaks_services_language()
    return {
        code: str(words).replace("{max}", str(settings.MAX_SEATS_PER_ORDER))
        for code, words in ERROR_WORDS.items()
        if not english or code in PAGE_WORDS_ALWAYS
    }
