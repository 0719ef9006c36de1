"""Find my booking: a booking reference and a passenger's last name give the booking back."""

import unicodedata

from core.errors import NotFound
from inventory.selectors import held_seat_labels
from orders.models import Order, OrderState
from orders.selectors import passengers_of


class BookingNotFound(NotFound):
    code = "booking_not_found"


def comparable_name(name: str) -> str:
    """A last name as it is compared: no case, accent, punctuation or spacing differences (Müller = MULLER)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if unicodedata.category(ch)[0] == "L")


def normal_reference(reference: str) -> str:
    """A reference as typed (k7mx 3q, " K7MX3Q") as it is stored: capitals, no spaces."""
    return "".join(reference.split()).upper()


def find_booking(*, reference: str, last_name: str) -> Order:
    """The confirmed order with this reference and a passenger of this last name. A wrong reference and
    a wrong name get the same answer, so that an answer never says which of the two was right."""
    order = Order.objects.filter(reference=normal_reference(reference), state=OrderState.CONFIRMED).first()
    wanted = comparable_name(last_name)
    # Only the passengers of the seats booked: a name given for a seat since let go opens nothing.
    booked = passengers_of(order, seats=held_seat_labels(order_id=order.pk, booked_only=True)) if order else []
    names = {comparable_name(p["lastName"]) for p in booked}
    if not wanted or wanted not in names:
        raise BookingNotFound(
            "No booking has this reference with a passenger of this last name. Check both against your "
            "confirmation email: the reference is 6 letters and digits, e.g. K7MX3Q.",
        )
    assert order is not None  # a name matched, so there was an order
    return order
