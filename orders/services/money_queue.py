"""Which kind of money work a worker does after booking, and handing it to the workers (money.py does it)."""

from enum import StrEnum

from django.db import transaction

from orders import queue


class MoneyKind(StrEnum):
    CHANGE = "change"  # a charge: a seat change's price difference
    REFUND = "refund"


def enqueue_money_on_commit(kind: MoneyKind, pk: int) -> None:
    transaction.on_commit(lambda: queue.enqueue_money(str(kind), pk))
