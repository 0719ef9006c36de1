"""Emails about a booking after it was confirmed: a seat change, a cancellation, a refund, a late payment
kept. Each is a Notice row made once per event it tells (its unique key), in the transaction of the change,
and sent by a worker at most once, as the confirmation is (confirmation.py)."""

import datetime as dt

from django.db import transaction

from orders import queue
from orders.models import Notice, Order

# If a notice has not gone out this long after it was asked for, the timer loop asks a worker again.
NOTICE_LEASE = dt.timedelta(seconds=60)


def notify_on_commit(order: Order, *, kind: str, key: str, now: dt.datetime) -> None:
    """Make the notice `key` (once: made again, nothing happens) and ask a worker to send it after commit;
    nothing for an order with no email address."""
    if not order.contact_email:
        return
    notice, made = Notice.objects.get_or_create(
        key=key, defaults={"order": order, "kind": kind, "due_at": now + NOTICE_LEASE}
    )
    if made:
        notice_id = notice.pk
        transaction.on_commit(lambda: queue.enqueue_notice(notice_id))


def send_notice(*, notice_id: int, now: dt.datetime | None = None) -> str:
    """Send the notice unless it went out already (or is going out now): to be written with the sender."""
    return "nothing to send"
