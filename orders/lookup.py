"""Find my booking: a booking reference and a passenger's last name give the booking back."""

import unicodedata

from core.errors import NotFound
from orders.models import Order, OrderState


class BookingNotFound(NotFound):
    code = "booking_not_found"


def comparable_name(name: str) -> str:
    """A last name as it is compared: no case, accent, punctuation or spacing differences (Müller = MULLER)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if unicodedata.category(ch)[0] == "L")


def find_booking(*, reference: str, last_name: str) -> Order:
    """The confirmed order with this reference and a passenger of this last name. A wrong reference and
    a wrong name get the same answer, so that an answer never says which of the two was right."""
    order = Order.objects.filter(reference=reference.strip().upper(), state=OrderState.CONFIRMED).first()
    wanted = comparable_name(last_name)
    names = {comparable_name(p.get("lastName", "")) for p in (order.passengers if order else [])}
    if not wanted or wanted not in names:
        raise BookingNotFound(
            "No booking has this reference with a passenger of this last name. Check both against your "
            "confirmation email: the reference is 6 letters and digits, e.g. K7MX3Q.",
        )
    assert order is not None  # a name matched, so there was an order
    return order
