"""The retention pass the timer loops run: every transient kind of row, after its window (core/retention.py).

Orders, their audit trail and their payment attempts are business records: never pruned here (archiving
them is explicit: `manage.py archive_orders`). What goes:
- events older than EVENTS_KEEP_HOURS, and the channels of ended orders quiet that long (their counter
  and placeholder row); flights' channels stay, one per flight;
- released and expired seat holds of ended orders, RETENTION_HOLDS_HOURS after they ended (a booking
  keeps its booked seats; the audit trail says which seats each selection held);
- idempotency keys after IDEMPOTENCY_KEEP_HOURS, expired sessions, django-q2's task rows after
  RETENTION_TASKS_HOURS.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db.models import Exists, Min, OuterRef
from django.db.models.functions import Substr
from django.utils import timezone

from core import retention
from core.events.eventstream import EventCounter
from inventory.models import HoldState, SeatHold
from orders.events import order_channel
from orders.models import Order, OrderState

log = logging.getLogger(__name__)

# States an order never leaves on its own: its seats and channel will not change again.
ENDED_STATES = (OrderState.CONFIRMED, OrderState.FAILED, OrderState.EXPIRED, OrderState.CANCELLED)
ENDED_HOLD_STATES = (HoldState.RELEASED, HoldState.EXPIRED)
ORDER_CHANNEL_PREFIX = order_channel("")


def _not_ended(order_id) -> Exists:
    """An order with this id exists and has not ended (an archived order no longer exists: ended)."""
    return Exists(Order.objects.filter(pk=order_id).exclude(state__in=ENDED_STATES))


def prune_holds(*, now: dt.datetime) -> int:
    """Released and expired holds of ended orders, RETENTION_HOLDS_HOURS after they ended."""

    def prune(start: dt.datetime, end: dt.datetime, budget: int) -> int:
        holds = SeatHold.objects.filter(state__in=ENDED_HOLD_STATES, ended_at__gte=start, ended_at__lt=end)
        return retention.delete_in_batches(holds.filter(~_not_ended(OuterRef("order_id"))), budget=budget)

    return retention.walk(
        "holds",
        cutoff=now - dt.timedelta(hours=settings.RETENTION_HOLDS_HOURS),
        oldest=lambda: SeatHold.objects.filter(ended_at__isnull=False).aggregate(t=Min("ended_at"))["t"],
        prune=prune,
    )


def prune_order_channels(*, now: dt.datetime) -> int:
    """The event channels (counter and placeholder) of ended orders with no event for EVENTS_KEEP_HOURS."""
    cutoff = now - dt.timedelta(hours=settings.EVENTS_KEEP_HOURS)

    def prune(start: dt.datetime, end: dt.datetime, budget: int) -> int:
        counters = (
            EventCounter.objects.filter(name__startswith=ORDER_CHANNEL_PREFIX, updated__gte=start, updated__lt=end)
            .alias(order_id=Substr("name", len(ORDER_CHANNEL_PREFIX) + 1))
            .filter(~_not_ended(OuterRef("order_id")))
            .order_by()
        )
        forgotten = 0
        while forgotten < budget:
            batch = min(settings.RETENTION_BATCH_SIZE, budget - forgotten)
            names = list(counters.values_list("name", flat=True)[:batch])
            done = retention.prune_channels(names, quiet_before=cutoff) if names else 0
            forgotten += done
            if len(names) < batch or done < len(names):  # the slice is done, or the rest are busy right now
                break
        return forgotten

    def oldest() -> dt.datetime | None:
        return EventCounter.objects.filter(name__startswith=ORDER_CHANNEL_PREFIX).aggregate(t=Min("updated"))["t"]

    return retention.walk("order channels", cutoff=cutoff, oldest=oldest, prune=prune)


def run_pass(*, now: dt.datetime | None = None) -> dict[str, int]:
    """One retention pass over every transient kind; returns the rows (channels) pruned per kind."""
    now = now or timezone.now()
    pruned = {
        "events": retention.prune_events(now=now),
        "order channels": prune_order_channels(now=now),
        "seat holds": prune_holds(now=now),
        "idempotency keys": retention.prune_idempotency_keys(now=now),
        "sessions": retention.prune_sessions(now=now),
        "tasks": retention.prune_tasks(now=now),
    }
    if any(pruned.values()):
        log.info("retention: pruned %s", ", ".join(f"{n} {kind}" for kind, n in pruned.items() if n))
    return pruned
