"""The words a traveller reads on the pages: order states, seat states, outcomes, durations. The page's
script gets the same tables (booking.html, json_script), so the live page and the served page agree.

Every text is marked for translation (locale/): the tables hold lazy strings, said in the language active
when they are read (the request's, or the order's for its email); the page's words are str()-ed for JSON."""

import re
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, ngettext_lazy

from core.money import amount_words
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


def outcome(
    status: OrderStatus, *, flight_code: str, attempts: int, ended_seats: list[str] | None = None
) -> dict[str, Any] | None:
    """The final screen's title and text, or None while the booking is still going. `ended_seats`: the
    seats a booking that ended unpaid held (orders.selectors.last_seats), which it names and offers to hold
    again ("again": the button's words, "" when there is nothing to hold)."""
    state = status["State"]
    if state not in FINAL_TITLES:
        return None
    if state == "CONFIRMED":
        text = _("Your seats %(seats)s on %(flight)s are booked.") % {
            "seats": ", ".join(status["Seats"]),
            "flight": flight_code,
        }
        return {"title": str(FINAL_TITLES[state]), "text": text, "again": "", "seats": []}
    seats = ", ".join(ended_seats or [])
    words = ended_words(seat_count=len(ended_seats or []), attempts=attempts)
    values = {"seats": seats, "why": payment_reasons(status["LastPaymentErr"])}
    return {
        "title": str(FINAL_TITLES[state]),
        "text": fill(words[state], values),
        "again": fill(words["again"], values),
        "seats": ended_seats or [],
    }


def ended_words(*, seat_count: int, attempts: int) -> dict[str, str]:
    """The final screen of a booking that ended unpaid, which held `seat_count` seats (0: none known): its
    text per state, and "again", the button that holds the same seats again (orders/recovery_pages.py).
    {seats} and {why} are left to fill in: by outcome() here, by the page's script there (page-words
    "ended", the words for one seat, several and none). Nobody is blamed; nothing was charged."""
    tried = ngettext(
        "The payment did not go through after %(count)d try{why}.",
        "The payment did not go through after %(count)d tries{why}.",
        attempts,
    ) % {"count": attempts}
    duration = duration_words(settings.SEAT_HOLD_SECONDS)
    if not seat_count:
        return {
            "FAILED": " ".join([tried, _("Nothing was charged.")]),
            "EXPIRED": _("Your hold ended after %(duration)s. Nothing was charged.") % {"duration": duration},
            "CANCELLED": _("You cancelled this booking. Nothing was charged."),
            "again": "",
        }
    back_on_sale = ngettext(
        "Nothing was charged, and seat {seats} went back on sale. You can hold it again, keeping the names you gave.",
        "Nothing was charged, and seats {seats} went back on sale. You can hold them again, keeping the names you "
        "gave.",
        seat_count,
    )
    return {
        "FAILED": f"{tried} {back_on_sale}",
        "EXPIRED": ngettext(
            "Your hold on seat {seats} ended after %(duration)s, so it went back on sale. Nothing was charged. You "
            "can hold it again.",
            "Your hold on seats {seats} ended after %(duration)s, so they went back on sale. Nothing was charged. "
            "You can hold them again.",
            seat_count,
        )
        % {"duration": duration},
        "CANCELLED": ngettext(
            "You cancelled this booking, so seat {seats} went back on sale. Nothing was charged.",
            "You cancelled this booking, so seats {seats} went back on sale. Nothing was charged.",
            seat_count,
        ),
        "again": ngettext("Hold seat {seats} again", "Hold seats {seats} again", seat_count),
    }


def page_ended_words(*, attempts: int) -> dict[str, Any]:
    """ended_words for the page's script: for no seat known, one seat and several ("one" and "other", as
    English and Portuguese count), and the payment's reasons (payment_reasons)."""
    return {
        "none": ended_words(seat_count=0, attempts=attempts),
        "one": ended_words(seat_count=1, attempts=attempts),
        "other": ended_words(seat_count=2, attempts=attempts),
        "problems": PAYMENT_PROBLEMS,
    }


def fill(text: str, values: dict[str, str]) -> str:
    """Words with {placeholders} filled in, as the page's script fills them (booking.js `fill`)."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


# Why a payment's tries failed, said plainly: the gateway's own words (and its "simulated failure") are
# for the operators. A reason is known by a word of the error the payment service recorded for the try.
PAYMENT_PROBLEMS = {
    "declined": gettext_lazy("the bank declined the payment"),
    "timeout": gettext_lazy("the payment service did not answer in time"),
    "error": gettext_lazy("the payment service had a problem"),
}


def payment_problem(reason: str) -> str:
    """The key of PAYMENT_PROBLEMS for one try's recorded error (booking.js `paymentProblem` says the same)."""
    if "declined" in reason:
        return "declined"
    return "timeout" if "timeout" in reason or "did not answer" in reason else "error"


def payment_reasons(last_payment_error: str) -> str:
    """ " (the bank declined the payment)": each reason of a failed payment's tries once, or "" if none."""
    reasons: list[str] = []
    for reason in _ATTEMPT_REASON.findall(last_payment_error):
        said = str(PAYMENT_PROBLEMS[payment_problem(reason)])
        if said not in reasons:
            reasons.append(said)
    return f" ({'; '.join(reasons)})" if reasons else ""


def retrying_words(status: OrderStatus, *, attempts: int) -> str:
    """While a failed try waits for the next: which try failed and why, in plain words ("" otherwise)."""
    if status["State"] != "PROCESSING_PAYMENT" or status["PaymentStatus"] != "retrying":
        return ""
    used = attempts - status["AttemptsLeft"]
    return _("Try %(used)d of %(attempts)d did not go through (%(why)s); trying again shortly.") % {
        "used": used,
        "attempts": attempts,
        "why": PAYMENT_PROBLEMS[payment_problem(status["LastPaymentErr"])],
    }


def duration_words(seconds: float) -> str:
    """20 -> '20 seconds', 900 -> '15 minutes', 90 -> '1 minute 30 seconds'."""
    whole = max(1, round(seconds))
    minutes, rest = divmod(whole, 60)
    parts = []
    if minutes:
        parts.append(ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes})
    if rest:
        parts.append(ngettext("%(count)d second", "%(count)d seconds", rest) % {"count": rest})
    return " ".join(parts)


# Why Pay is not open yet (the page says it beside the button).
PAY_WHY = {
    "seats": gettext_lazy("Choose your seats first."),
    "names": gettext_lazy("Before paying, name a passenger for each seat."),
}

# The passenger form's own checks, before the server's (orders/services/passengers.py says the same).
PASSENGER_WORDS = {
    "firstName": gettext_lazy("Give the first name as on the passport."),
    "lastName": gettext_lazy("Give the last name as on the passport."),
    "name": gettext_lazy(
        "Write the name as on the passport: Latin letters (accents are fine), with space, hyphen, "
        "apostrophe or full stop between them."
    ),
    "email": gettext_lazy("Give an email address like ada@example.com."),
    "saved": gettext_lazy("Passengers saved. You can pay now."),
    # One field and several, as English and Portuguese count (literals: make messages reads only those).
    "problem": ngettext_lazy(
        "Check the passenger form: {count} field needs changing.",
        "Check the passenger form: {count} fields need changing.",
        1,
    ),
    "problems": ngettext_lazy(
        "Check the passenger form: {count} field needs changing.",
        "Check the passenger form: {count} fields need changing.",
        2,
    ),
}


def amount(value: object, currency: str) -> str:
    """An amount as the pages show it, in the page's language (core.money: "258.00 EUR", "258,00 EUR"; value:
    the API's money string or a Decimal); the page's script says it with Intl.NumberFormat (booking.js money)."""
    return amount_words(str(value), currency)


# "Find seats together": the proposal before anything is held, and what follows it. {placeholders} are
# filled by the page's script, and by proposal_words for the page without it.
BEST_WORDS = {
    "zones": gettext_lazy("{first} and {last}"),
    "alone": gettext_lazy("{seats} in {zones}: {total}."),
    "more": gettext_lazy("{seats} in {zones}: {total}, {difference} more than your seats now."),
    "less": gettext_lazy("{seats} in {zones}: {total}, {difference} less than your seats now."),
    "same": gettext_lazy("{seats} in {zones}: {total}, the same as your seats now."),
    "taken": gettext_lazy("Taken meanwhile by another traveller: {seats}. Here is a new choice."),
    "held": gettext_lazy("Seats {seats} are held for you."),
}


def proposal_words(proposal: dict[str, Any]) -> str:
    """The proposal as one sentence ("2A, 2B in Front: 258.00 EUR, 80.00 EUR more than your seats now."),
    from the API's answer (orders/seat_proposals.py as_json), as the page's script says it."""
    zones = [zone_name(zone) for zone in proposal["zones"]]
    if len(zones) > 1:
        zones = [str(BEST_WORDS["zones"]).replace("{first}", ", ".join(zones[:-1])).replace("{last}", zones[-1])]
    difference = proposal["difference"]  # a money string: "80.00", "-10.00", "0.00"
    key = "less" if difference.startswith("-") else "more" if difference.strip("0.") else "same"
    key = key if proposal["heldSeats"] else "alone"
    values = {
        "seats": ", ".join(proposal["seats"]),
        "zones": zones[0],
        "total": amount(proposal["total"], proposal["currency"]),
        "difference": amount(proposal["difference"].lstrip("-"), proposal["currency"]),
    }
    text = str(BEST_WORDS[key])
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


# The booking page's connection to the server (its requests and live streams), said beside the summary.
CONNECTION_WORDS = {
    "lost": gettext_lazy("Connection lost. Trying again…"),
    "back": gettext_lazy("Back online."),
    "noAnswer": gettext_lazy("The server did not answer. Check your connection and try again."),
    "seatsNoAnswer": gettext_lazy("The server did not answer, so your seats are as before. Try again in a moment."),
    "payNoAnswer": gettext_lazy(
        "The server did not answer, so the payment may not have started. Check your connection and press Pay "
        "again (you are never charged twice)."
    ),
    "refused": gettext_lazy("The server refused this ({status}). Try again."),
}


# The rest of what the page's script writes (static/js/booking.js, page-words "page"); {placeholders} are
# filled there. Amounts come formatted by the script's own `money` (Intl.NumberFormat, as core/money.py).
SCRIPT_WORDS = {
    "saving": gettext_lazy("saving"),
    "fiveMinutes": gettext_lazy("5 minutes left to pay for your seats."),
    "oneMinute": gettext_lazy("1 minute left to pay. Choose More time to keep your seats longer."),
    "booked": gettext_lazy("Your seats {seats} on {flight} are booked."),
    "reference": gettext_lazy("Booking reference: {reference}."),
    "pay": gettext_lazy("Pay"),
    "payAmount": gettext_lazy("Pay {amount}"),
    "total": gettext_lazy("Total {amount}"),
    "starting": gettext_lazy("Starting the payment…"),
    "retrying": gettext_lazy("Try {used} of {max} did not go through; trying again shortly…"),
    "paying": gettext_lazy("Paying: try {used} of {max}…"),
    "noSeats": gettext_lazy("none yet"),
    "seatMap": gettext_lazy("Seat map"),
    "paymentCode": gettext_lazy("The payment code is exactly 5 digits, like 12345."),
    "seat": gettext_lazy("Seat {seat}"),
    "firstName": gettext_lazy("First name"),
    "lastName": gettext_lazy("Last name"),
    "held": gettext_lazy("Seats {seats} are held for you."),
}
