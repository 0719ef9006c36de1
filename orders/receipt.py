"""What a confirmed booking's receipt says, for the confirmation email and the printable page."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from flights.fares import fares_of, money
from flights.models import Airport
from flights.place_names import route_words
from flights.selectors import flight_summary
from inventory.selectors import held_seat_labels
from orders.models import Order, OrderState, Refund
from orders.selectors import effective_state, order_total, passengers_of
from orders.wording import zone_name

# What became of a booking that is not (yet) confirmed, as its receipt says it: what happened, not a state name.
UNCONFIRMED_WORDS = {
    "PENDING": gettext_lazy("No seats are held for this booking yet."),
    "SEATS_SELECTED": gettext_lazy(
        "These seats are held for you until you pay; this page is your receipt once the booking is paid."
    ),
    "PROCESSING_PAYMENT": gettext_lazy("The payment is being made; this page is your receipt once it is done."),
    "FAILED": gettext_lazy("This booking was not paid: the payment was declined. Nothing was charged."),
    "EXPIRED": gettext_lazy(
        "This booking was not paid before the hold on its seats ended, so they were released. Nothing was charged."
    ),
    "CANCELLED": gettext_lazy("This booking was cancelled. Nothing was charged."),
}


@dataclass(frozen=True)
class ReceiptLine:
    seat: str
    zone: str
    price: str
    passenger: str  # "First Last", or "" if no name was given


@dataclass(frozen=True)
class RefundLine:
    credit_note: str
    reason: str  # in the page's language
    seats: str  # "12A, 12B", or ""
    amount: str
    fee: str
    state: str  # PENDING, PAID, FAILED
    state_words: str


REFUND_REASONS = {
    "cancellation": gettext_lazy("Cancellation"),
    "seat_change": gettext_lazy("Seat change"),
    "late_payment": gettext_lazy("Payment after the booking ended"),
}
REFUND_STATES = {
    "PENDING": gettext_lazy("being paid back"),
    "PAID": gettext_lazy("paid back"),
    "FAILED": gettext_lazy("delayed: our staff are paying it back"),
}


@dataclass(frozen=True)
class Receipt:
    order_id: str
    state: str
    reference: str
    flight_code: str
    route: str
    departs_at: object  # datetime, formatted by the templates in its airport's zone (flights/times.py)
    departure: str  # ISO 8601 UTC
    arrives_at: object  # datetime or None
    origin_airport: Airport | None  # None: times are shown in UTC
    destination_airport: Airport | None
    state_text: str  # what happened, for a booking not confirmed ("" once it is)
    lines: list[ReceiptLine]
    total: str
    currency: str
    contact_email: str
    email_note: str  # what became of the confirmation email, as the receipt says it ("" if none is due)
    refunds: list[RefundLine] = field(default_factory=list)  # oldest first, each with its credit note


def receipt_of(order: Order) -> Receipt:
    """The receipt of an order (its flight read with it): seats with zone, price and passenger, total."""
    state = effective_state(order, timezone.now())
    seats = held_seat_labels(order_id=order.pk, booked_only=state == OrderState.CONFIRMED)
    fares = fares_of(order.flight)
    names = {p["seat"]: f"{p['firstName']} {p['lastName']}" for p in passengers_of(order, seats=seats)}
    # Each seat at the price frozen when it was held, the one its amount was made of (orders/models.py).
    # (All of them, whatever the flight's currency is now: `currency` says they are in the one given.)
    frozen = fares.freeze(seats, earlier=order.seat_prices or {}, currency=fares.currency)
    lines = [
        ReceiptLine(label, zone_name(frozen[label]["zone"]), frozen[label]["price"], names.get(label, ""))
        for label in seats
        if label in frozen
    ]
    total: Decimal = order_total(order, state=state, seats=seats)
    return Receipt(
        order_id=order.pk,
        state=state,
        reference=order.reference or "",
        flight_code=order.flight.code,
        route=route_words(order.flight.origin, order.flight.destination),  # in the reader's language
        departs_at=order.flight.departs_at,
        departure=flight_summary(order.flight)["departure"],
        arrives_at=order.flight.arrives_at,
        origin_airport=order.flight.origin_airport,
        destination_airport=order.flight.destination_airport,
        state_text=str(UNCONFIRMED_WORDS.get(state, "")),
        lines=lines,
        total=money(total),
        currency=order.currency or fares.currency,
        contact_email=order.contact_email,
        email_note=email_note(order, state=state),
        refunds=refunds_of(order),
    )


def refunds_of(order: Order) -> list[RefundLine]:
    """The money paid back on the booking (cancellations, cheaper seat changes, late payments), oldest first."""
    return [
        RefundLine(
            credit_note=refund.credit_note,
            reason=str(REFUND_REASONS.get(refund.reason, refund.reason)),
            seats=", ".join(refund.seats),
            amount=money(refund.amount),
            fee=money(refund.fee),
            state=refund.state,
            state_words=str(REFUND_STATES.get(refund.state, refund.state)),
        )
        for refund in Refund.objects.filter(order_id=order.pk).order_by("created_at", "id")
    ]


def email_note(order: Order, *, state: str) -> str:
    """The receipt's sentence about the confirmation email: only what has happened to it."""
    if not order.contact_email or state != OrderState.CONFIRMED:
        return ""
    email = {"email": order.contact_email}
    if order.confirmation_sent_at:
        return _("Confirmation sent to %(email)s.") % email
    if order.confirmation_failed_at:
        return _("The confirmation email to %(email)s could not be delivered: keep this page.") % email
    return _("A confirmation email is on its way to %(email)s.") % email
