"""Where the booking page opens after one of its forms was sent without JavaScript: at the part that changed.

Each form's handler redirects to the booking page with a fragment naming that part (`#summary`, `#passengers`,
`#best-form`, `#final`), so the traveller lands where the answer is, not at the top of a long page. A form's
message goes beside that part too: the handler tags it with the id of the paragraph it belongs in
(`place_message`), and the page renders it there (`placed_messages`) instead of in the list at the top.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

# The booking page's parts a form returns to (ids in templates/orders/booking.html; each has tabindex=-1,
# so that it takes focus and a screen reader starts there).
SUMMARY, PASSENGERS, BEST_FORM, OUTCOME = "summary", "passengers", "best-form", "final"

# The paragraphs a message may be placed in (their ids), and the template's name for each.
PLACES = {
    "seat-error": "seat_error",
    "payment-error": "payment_error",
    "best-error": "best_error",
    "passenger-error": "passenger_error",
    "passenger-saved": "passenger_saved",
}


def back_to(order_id: str, part: str) -> HttpResponseRedirect:
    """The redirect to the booking page, opened at `part`."""
    return HttpResponseRedirect(f"{reverse('booking', args=[order_id])}#{part}")


def place_message(request: HttpRequest, level: int, text: str, *, place: str) -> None:
    """A message for the booking page, shown in the paragraph whose id is `place` (one of PLACES)."""
    messages.add_message(request, level, text, extra_tags=place)


def placed_messages(notices: list) -> tuple[list, dict[str, str]]:
    """The messages for the top of the page, and the placed ones as {template name: text}."""
    top, placed = [], {}
    for message in notices:
        place = PLACES.get(getattr(message, "extra_tags", "") or "")
        if place:
            placed[place] = str(message)
        else:
            top.append(message)
    return top, placed
