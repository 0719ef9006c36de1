"""Who travels: a first and last name for each held seat, and the order's contact email.

Optional over the API (a code alone still pays, as in the original contract); without them an order
cannot be found again by name, and no confirmation email goes out.
"""

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from inventory.selectors import held_seat_labels
from orders.models import AuditAction, Order, OrderState
from orders.selectors import OrderStatus, PassengerJSON
from orders.services.common import OrderChange, WrongState, change_unless_lapsed, record_change

NAME_MAX_LENGTH = 64
EMAIL_MAX_LENGTH = 254
# A name as a passport's Latin-alphabet fields print it: letters with their accents (Latin-1, Latin
# Extended-A/B and Additional, e.g. Vietnamese), words joined by one space, hyphen or apostrophe, or a
# full stop (then maybe a space: "St. John"), perhaps ending in a full stop ("Jr."); 1-64 characters.
NAME_LETTERS = "A-Za-zÀ-ÖØ-öø-ɏḀ-ỿ"
NAME_PATTERN = f"^[{NAME_LETTERS}]+(?:(?:[ '’-]|\\. ?)[{NAME_LETTERS}]+)*\\.?$"
NAME_RE = re.compile(NAME_PATTERN)
# What the API takes (the schema's pattern): the same with spaces around and runs of spaces, which are
# trimmed and collapsed (so is a decomposed accent composed, which no pattern can say).
NAME_INPUT_PATTERN = f"^ *[{NAME_LETTERS}]+(?:(?: +|['’-]|\\. *)[{NAME_LETTERS}]+)*\\.? *$"
NAME_CHARACTER_RE = re.compile(f"[{NAME_LETTERS} '’.-]")
# Two marks in a row ("Lo--ve", "O''Neil", "A .B"), except a full stop and then a space ("St. John").
REPEATED_PUNCTUATION_RE = re.compile("(?!\\. )[ '’.-][ '’.-]")


def clean_name(value: Any, *, field: str) -> str:
    """A name as the passport carries it (NAME_PATTERN); raises InvalidInput saying what is wrong."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: send the name as a JSON string.", code="invalid_name", field=field)
    # As a person means it: composed accents (u + combining diaeresis is ü), single spaces, none around.
    value = re.sub(" {2,}", " ", unicodedata.normalize("NFC", value).strip(" "))
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise InvalidInput(
            f"{field}: the name contains a control or invisible character; type it again as letters.",
            code="invalid_name",
            field=field,
        )
    if not 1 <= len(value) <= NAME_MAX_LENGTH:
        raise InvalidInput(
            f"{field}: give 1-{NAME_MAX_LENGTH} characters, as on the passport.", code="invalid_name", field=field
        )
    if REPEATED_PUNCTUATION_RE.search(value):
        raise InvalidInput(
            f"{field}: put at most one hyphen, apostrophe or full stop between letters (a full stop may be "
            "followed by a space, as in St. John).",
            code="invalid_name",
            field=field,
        )
    if not NAME_RE.fullmatch(value):
        bad = sorted({ch for ch in value if not NAME_CHARACTER_RE.fullmatch(ch)})
        shown = (
            f"not {', '.join(repr(ch) for ch in bad)}"
            if bad
            else "and start with a letter and end with one (or a full stop)"
        )
        raise InvalidInput(
            f"{field}: write the name as on the passport, in Latin letters (accents are fine) with space, "
            f"hyphen, apostrophe or full stop between them; {shown}.",
            code="invalid_name",
            field=field,
        )
    return value


class PassengersDoNotMatch(Conflict):
    code = "passengers_do_not_match_seats"


# The one rule for a contact email, here and in the page's script before it sends (its page words'
# emailPattern, a JavaScript RegExp too): Django's EmailValidator's dot-atom name and host names, whose
# last label has letters (so "ada@example" is refused by both), without its rare forms (quoted names, IP
# literals). An address must pass both.
EMAIL_PATTERN = (
    r"^[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+(?:\.[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9]{1,59})$"
)


def clean_email(value: Any) -> str:
    if not isinstance(value, str) or len(value) > EMAIL_MAX_LENGTH:
        raise InvalidInput(
            f"email: give one email address of at most {EMAIL_MAX_LENGTH} characters.", code="invalid_email"
        )
    email = value
    try:
        EmailValidator()(email)
        if not re.match(EMAIL_PATTERN, email):
            raise ValidationError("not the page's email rule")
    except ValidationError:
        raise InvalidInput(
            f"email: {email!r} is not an email address like ada@example.com.", code="invalid_email"
        ) from None
    return email


def clean_passengers(passengers: Sequence[dict[str, Any]]) -> list[PassengerJSON]:
    """Names checked and normalised; each seat named once (the API has checked the shape and labels)."""
    cleaned: list[PassengerJSON] = [
        {
            "seat": p["seat"],
            "firstName": clean_name(p["firstName"], field=f"passengers[{n}].firstName"),
            "lastName": clean_name(p["lastName"], field=f"passengers[{n}].lastName"),
        }
        for n, p in enumerate(passengers)
    ]
    return cleaned


def set_passengers(
    *, order_id: str, passengers: Sequence[dict[str, Any]], email: str, actor: str, now: dt.datetime | None = None
) -> OrderChange:
    """Name a passenger for every held seat and give the contact email, before paying (SEATS_SELECTED).
    Replaces what was given before. Names for seats not held, or held seats left unnamed, are refused."""
    cleaned, contact = clean_passengers(passengers), clean_email(email)
    now = now or timezone.now()

    def name(order: Order) -> OrderStatus:
        if order.state != OrderState.SEATS_SELECTED:
            raise WrongState(
                f"Passengers are named for held seats before paying; the order is {order.state}.", state=order.state
            )
        held = held_seat_labels(order_id=order.pk)
        given = Counter(p["seat"] for p in cleaned)
        twice = sorted(s for s, n in given.items() if n > 1)
        if set(given) != set(held) or len(cleaned) != len(held):
            raise PassengersDoNotMatch(
                f"Name one passenger for each held seat ({', '.join(held)}), once each; "
                f"not held: {', '.join(sorted(set(given) - set(held))) or 'none'}; "
                f"without a name: {', '.join(sorted(set(held) - set(given))) or 'none'}; "
                f"named twice: {', '.join(twice) or 'none'}.",
                seats=sorted((set(given) ^ set(held)) | set(twice)),
            )
        order.passengers = sorted(cleaned, key=lambda p: held.index(p["seat"]))
        order.contact_email = contact
        order.save(update_fields=["passengers", "contact_email", "updated_at"])
        return record_change(
            order,
            action=AuditAction.PASSENGERS,
            from_state=order.state,
            actor=actor,
            reason=f"{len(cleaned)} passenger(s) named",
            seats=held,
        )

    return change_unless_lapsed(order_id, now=now, actor=actor, change=name)
