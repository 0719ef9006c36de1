"""Archiving bookings: old ended orders, with their seat holds, audit trail and payment attempts, written to
a file of JSON lines and then deleted from the database. Explicit only (`manage.py archive_orders`):
orders are business records, which the retention pass never deletes.

One line per order: `{"order": {...}, "holds": [...], "audit": [...], "attempts": [...]}` (the order's
columns, without its token hash and payment code). A batch is locked, written to the file and flushed to
disk, then deleted and committed; an interrupted run leaves each order either in the database, or in the
file and deleted, or (if the commit itself failed) in both: a rerun then writes it again, and the file's
last line for an order is the one that counts.
"""

import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from core.events.eventstream import EventCounter, EventRow
from inventory.models import SeatHold
from orders.events import order_channel
from orders.models import AuditEntry, Order, PaymentAttempt

# Columns an archive leaves out: the bearer token's hash and the payment code are not records of the booking.
LEFT_OUT = {"token_hash", "payment_code"}


@dataclass
class Archived:
    """What a run found (and, unless a dry run, wrote and deleted)."""

    orders: int = 0
    holds: int = 0
    audit: int = 0
    attempts: int = 0
    ids: list[str] = field(default_factory=list)


def old_orders(*, states: list[str], ended_before: dt.datetime):
    """Orders in `states` whose last change and whose flight's departure are older than `ended_before`."""
    return Order.objects.filter(state__in=states, updated_at__lt=ended_before, flight__departs_at__lt=ended_before)


def records(order_ids: list[str]) -> Iterator[dict[str, Any]]:
    """Each order with its holds, audit entries and payment attempts, as one JSON-ready record."""
    holds, audit, attempts = (
        _grouped(model.objects.filter(order_id__in=order_ids).order_by("order_id", "pk").values())
        for model in (SeatHold, AuditEntry, PaymentAttempt)
    )
    for order in Order.objects.filter(pk__in=order_ids).order_by("pk").values():
        order_id = order["id"]
        yield {
            "order": {name: value for name, value in order.items() if name not in LEFT_OUT},
            "holds": holds.get(order_id, []),
            "audit": audit.get(order_id, []),
            "attempts": attempts.get(order_id, []),
        }


def _grouped(rows) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["order_id"], []).append(row)
    return grouped


def archive_batch(
    *, states: list[str], ended_before: dt.datetime, after: str, size: int, out: IO[str] | None
) -> Archived:
    """Archive the next `size` matching orders with ids after `after`: written to `out` and deleted, or
    only counted if `out` is None (a dry run)."""
    done = Archived()
    with transaction.atomic():
        batch = old_orders(states=states, ended_before=ended_before).filter(pk__gt=after).order_by("pk")
        if out is not None:
            batch = batch.select_for_update()
        done.ids = list(batch.values_list("pk", flat=True)[:size])
        if not done.ids:
            return done
        for record in records(done.ids):
            done.orders += 1
            done.holds, done.audit = done.holds + len(record["holds"]), done.audit + len(record["audit"])
            done.attempts += len(record["attempts"])
            if out is not None:
                out.write(json.dumps(record, cls=DjangoJSONEncoder, separators=(",", ":")) + "\n")
        if out is not None:
            out.flush()
            os.fsync(out.fileno())  # on disk before the rows are gone
            _delete(done.ids)
    return done


def _delete(order_ids: list[str]) -> None:
    """The orders and everything that is theirs: holds, audit entries, attempts, their event channel."""
    channels = [order_channel(order_id) for order_id in order_ids]
    SeatHold.objects.filter(order_id__in=order_ids).delete()
    AuditEntry.objects.filter(order_id__in=order_ids).delete()
    PaymentAttempt.objects.filter(order_id__in=order_ids).delete()
    EventRow.objects.filter(channel__in=channels).delete()
    EventCounter.objects.filter(name__in=channels).delete()
    Order.objects.filter(pk__in=order_ids).delete()
