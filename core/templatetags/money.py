"""{% load money %} ... {{ line.price|money:receipt.currency }}: core.money.amount_words in a template."""

from decimal import Decimal

from django import template

from core.money import amount_words

register = template.Library()


@register.filter(name="money")
def money_filter(amount: Decimal | str, currency: str = "") -> str:
    return amount_words(amount, currency)
