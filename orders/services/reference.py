"""Booking references: 6 characters a traveller can read out and type back without doubt."""

import secrets

from django.db import IntegrityError, transaction

from orders.models import Order

# No 0/O or 1/I (nor L, easily taken for 1 or I in some fonts): 31 characters, 31^6 ~ 887 million references.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 6
ATTEMPTS = 8


def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def give_reference(order: Order) -> str:
    """Give the locked order a reference no other order has (the unique column decides: a clash, rare,
    is undone by its savepoint and another reference drawn). Called in the confirming transaction."""
    for _ in range(ATTEMPTS):
        candidate = new_reference()
        try:
            with transaction.atomic():  # a savepoint: the clash rolls back alone
                Order.objects.filter(pk=order.pk).update(reference=candidate)
        except IntegrityError:
            continue
        order.reference = candidate
        return candidate
    raise RuntimeError(f"no free booking reference after {ATTEMPTS} draws")  # 8 clashes in a row: a broken generator
