"""An amount with its currency as a traveller reads it, in the page's language: "258.00 EUR" in English,
"258,00 EUR" in Portuguese. The one rule for pages, receipts and emails (the `money` template filter); the
page's script says the same with Intl.NumberFormat (static/js/booking.js, `amount`). The API keeps its
own form (flights.fares.money: "258.00", the currency apart)."""

from decimal import Decimal, InvalidOperation

from django.utils.formats import number_format


def amount_words(amount: Decimal | str | int, currency: str) -> str:
    """Two decimal places with the active language's separator, no grouping, then the ISO currency code."""
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        return f"{amount} {currency}".strip()
    return f"{number_format(value, 2, use_l10n=True)} {currency}".strip()
