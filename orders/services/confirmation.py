"""The confirmation email of a booking: sent once, by a worker, after the order is CONFIRMED."""

import datetime as dt
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from core.locking import claim
from orders import queue
from orders.models import AuditAction, Order, OrderState
from orders.receipt import receipt_of
from orders.services.common import lock_order, record_change

# If the email has not gone out this long after it was asked for (its task lost: a crash right after the
# commit, Redis down), the timer loop asks again (enqueue_due_confirmations).
CONFIRMATION_LEASE = dt.timedelta(seconds=60)


def send_confirmation_on_commit(order: Order, *, now: dt.datetime) -> None:
    """Ask a worker for the confirmation email once the confirming transaction commits (if there is an
    address to send it to: API orders may have none). The caller saves `confirmation_due_at`."""
    if order.contact_email:
        order.confirmation_due_at = now + CONFIRMATION_LEASE
        order_id = order.pk
        transaction.on_commit(lambda: queue.enqueue_confirmation(order_id))


def enqueue_due_confirmations(*, now: dt.datetime | None = None, limit: int = 100) -> list[str]:
    """The timer loop's: ask again for confirmation emails whose task was lost, each once per lease."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            claim(Order.objects.all())
            .filter(confirmation_due_at__lte=now)
            .order_by("confirmation_due_at")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Order.objects.filter(pk__in=ids).update(confirmation_due_at=now + CONFIRMATION_LEASE)
            for order_id in ids:
                transaction.on_commit(partial(queue.enqueue_confirmation, order_id))
    return ids


def send_confirmation(*, order_id: str, now: dt.datetime | None = None) -> bool:
    """Send the order's confirmation email unless it went out already; True if this call sent it.

    The order stays locked while the email is handed to the mail server, and `confirmation_sent_at` is
    written in the same transaction: a task delivered twice, even at once, sends one email. Left open:
    a crash after the mail server took the email and before the commit sends it again on redelivery
    (at least once, not exactly once, in that window: no mail server takes part in our transaction).
    """
    with transaction.atomic():
        order = lock_order(order_id)
        if order.state != OrderState.CONFIRMED or order.confirmation_sent_at or not order.contact_email:
            if order.confirmation_due_at is not None:
                order.confirmation_due_at = None
                order.save(update_fields=["confirmation_due_at"])
            return False
        message = confirmation_message(order)
        message.send()
        order.confirmation_sent_at, order.confirmation_due_at = now or timezone.now(), None
        order.save(update_fields=["confirmation_sent_at", "confirmation_due_at", "updated_at"])
        record_change(
            order,
            action=AuditAction.CONFIRMATION_SENT,
            from_state=order.state,
            actor="system:email",
            reason=f"confirmation {order.reference} emailed",
        )
    return True


def confirmation_message(order: Order) -> EmailMultiAlternatives:
    receipt = receipt_of(order)
    context = {"receipt": receipt}
    message = EmailMultiAlternatives(
        subject=f"Booking {receipt.reference} confirmed: {receipt.flight_code} {receipt.route}",
        body=render_to_string("emails/booking_confirmed.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.contact_email],
    )
    message.attach_alternative(render_to_string("emails/booking_confirmed.html", context), "text/html")
    return message
