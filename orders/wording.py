"""The words a traveller reads on the pages: order states, seat states, outcomes, durations. The page's
script gets the same tables (booking.html, json_script), so the live page and the served page agree.

Every text is marked for translation (locale/): the tables hold lazy strings, said in the language active
when they are read (the request's, or the order's for its email); the page's words are str()-ed for JSON."""

import re
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from orders.selectors import OrderStatus

STATE_WORDS = {
    "PENDING": gettext_lazy("No seats yet"),
    "SEATS_SELECTED": gettext_lazy("Seats held"),
    "PROCESSING_PAYMENT": gettext_lazy("Paying"),
    "CONFIRMED": gettext_lazy("Booked"),
    "FAILED": gettext_lazy("Payment failed"),
    "EXPIRED": gettext_lazy("Hold expired"),
    "CANCELLED": gettext_lazy("Cancelled"),
}

# A seat's state as its accessible name and the legend say it.
SEAT_WORDS = {
    "available": gettext_lazy("available"),
    "mine": gettext_lazy("held for you"),
    "held": gettext_lazy("held by another traveller"),
    "booked": gettext_lazy("booked by another traveller"),
    "mine-booked": gettext_lazy("booked for you"),
}

# A seat's place in its row (flights.layout.seat_positions), in its accessible name.
POSITION_WORDS = {
    "window": gettext_lazy("window"),
    "middle": gettext_lazy("middle"),
    "aisle": gettext_lazy("aisle"),
}

# The fare zones the demo flights name (flights/management/commands/seed_demo.py) and the one every flight
# has; a zone an operator names otherwise is shown as named.
ZONE_NAMES = {
    "Standard": gettext_lazy("Standard"),
    "Front": gettext_lazy("Front"),
    "Extra legroom": gettext_lazy("Extra legroom"),
}


def zone_name(name: str) -> str:
    return str(ZONE_NAMES.get(name, name))


FINAL_TITLES = {
    "CONFIRMED": gettext_lazy("Booked!"),
    "FAILED": gettext_lazy("Payment failed"),
    "EXPIRED": gettext_lazy("The hold expired"),
    "CANCELLED": gettext_lazy("Booking cancelled"),
}

_ATTEMPT_REASON = re.compile(r"attempt \d+: ([^;]+?)(?=; attempt \d+:|\)\. Seats released\.$)")


def payment_failure_words(last_payment_error: str, attempts: int) -> str:
    """'Payment failed after 3 attempts (attempt 1: X (simulated failure); ...)' said once, plainly."""
    reasons = []
    for reason in _ATTEMPT_REASON.findall(last_payment_error):
        reason = reason.replace(" (simulated failure)", "").strip()
        reason = str(PAYMENT_REASONS.get(reason, reason))
        if reason not in reasons:
            reasons.append(reason)
    why = f" ({'; '.join(reasons)})" if reasons else ""
    return ngettext(
        "The payment did not go through after %(count)d try%(why)s. Nothing was charged, and your seats were released.",
        "The payment did not go through after %(count)d tries%(why)s. Nothing was charged, and your seats were "
        "released.",
        attempts,
    ) % {"count": attempts, "why": why}


# Why an attempt failed, as the gateway and the payment service record it (orders/gateway.py, AttemptOutcome).
PAYMENT_REASONS = {
    "the bank declined the payment": gettext_lazy("the bank declined the payment"),
    "declined": gettext_lazy("declined"),
    "timeout": gettext_lazy("timeout"),
    "error": gettext_lazy("error"),
    "lost": gettext_lazy("lost"),
}


def outcome(status: OrderStatus, *, flight_code: str, attempts: int) -> dict[str, Any] | None:
    """The final screen's title and text, or None while the booking is still going."""
    state = status["State"]
    if state not in FINAL_TITLES:
        return None
    seats = ", ".join(status["Seats"])
    text = {
        "CONFIRMED": lambda: (
            _("Your seats %(seats)s on %(flight)s are booked.") % {"seats": seats, "flight": flight_code}
        ),
        "FAILED": lambda: payment_failure_words(status["LastPaymentErr"], attempts),
        "EXPIRED": lambda: _("Nobody paid for the seats in time, so they were released."),
        "CANCELLED": lambda: _("You cancelled the booking; the seats were released."),
    }[state]()
    return {"title": str(FINAL_TITLES[state]), "text": text}


def duration_words(seconds: float) -> str:
    """20 -> '20 seconds', 900 -> '15 minutes', 90 -> '1 minute 30 seconds'."""
    whole = max(1, round(seconds))
    minutes, rest = divmod(whole, 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    if rest:
        parts.append(f"{rest} second{'s' if rest != 1 else ''}")
    return " ".join(parts)


# Why Pay is not open yet (the page says it beside the button).
PAY_WHY = {
    "seats": "Choose your seats first.",
    "names": "Before paying, name a passenger for each seat.",
}

# The passenger form's own checks, before the server's (orders/services/passengers.py says the same).
PASSENGER_WORDS = {
    "firstName": "Give the first name as on the passport.",
    "lastName": "Give the last name as on the passport.",
    "name": "Write the name as on the passport: Latin letters (accents are fine), with space, hyphen, "
    "apostrophe or full stop between them.",
    "email": "Give an email address like ada@example.com.",
    "saved": "Passengers saved. You can pay now.",
    "problems": "Check the passenger form: {count} field(s) need changes.",
}


def best_done(seats: list[str]) -> str:
    """What the "Find N seats together" form says when the server has chosen."""
    return f"Seats {', '.join(seats)} are held for you."
