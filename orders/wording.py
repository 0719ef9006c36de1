"""The words a traveller reads on the pages: order states, seat states, outcomes, durations. The page's
script gets the same tables (booking.html, json_script), so the live page and the served page agree."""

import re
from typing import Any

from orders.selectors import OrderStatus

STATE_WORDS = {
    "PENDING": "No seats yet",
    "SEATS_SELECTED": "Seats held",
    "PROCESSING_PAYMENT": "Paying",
    "CONFIRMED": "Booked",
    "FAILED": "Payment failed",
    "EXPIRED": "Hold expired",
    "CANCELLED": "Cancelled",
}

# A seat's state as its accessible name and the legend say it.
SEAT_WORDS = {
    "available": "available",
    "mine": "held for you",
    "held": "held by another traveller",
    "booked": "booked by another traveller",
    "mine-booked": "booked for you",
}

FINAL_TITLES = {
    "CONFIRMED": "Booked!",
    "FAILED": "Payment failed",
    "EXPIRED": "The hold expired",
    "CANCELLED": "Booking cancelled",
}

_ATTEMPT_REASON = re.compile(r"attempt \d+: ([^;]+?)(?=; attempt \d+:|\)\. Seats released\.$)")


def payment_failure_words(last_payment_error: str, attempts: int) -> str:
    """'Payment failed after 3 attempts (attempt 1: X (simulated failure); ...)' said once, plainly."""
    reasons = []
    for reason in _ATTEMPT_REASON.findall(last_payment_error):
        reason = reason.replace(" (simulated failure)", "").strip()
        if reason not in reasons:
            reasons.append(reason)
    why = f" ({'; '.join(reasons)})" if reasons else ""
    return (
        f"The payment did not go through after {attempts} tries{why}. Nothing was charged, and your seats "
        "were released."
    )


def outcome(status: OrderStatus, *, flight_code: str, attempts: int) -> dict[str, Any] | None:
    """The final screen's title and text, or None while the booking is still going."""
    state = status["State"]
    if state not in FINAL_TITLES:
        return None
    seats = ", ".join(status["Seats"])
    text = {
        "CONFIRMED": f"Your seats {seats} on {flight_code} are booked.",
        "FAILED": payment_failure_words(status["LastPaymentErr"], attempts),
        "EXPIRED": "Nobody paid for the seats in time, so they were released.",
        "CANCELLED": "You cancelled the booking; the seats were released.",
    }[state]
    return {"title": FINAL_TITLES[state], "text": text}


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
