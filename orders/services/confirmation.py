"""The confirmation email of a booking: sent once, by a worker, after the order is CONFIRMED."""

import datetime as dt
import logging
import smtplib
from enum import StrEnum
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.locking import claim
from orders import queue
from orders.models import AuditAction, Order, OrderState
from orders.receipt import receipt_of
from orders.services.common import lock_order, record_change

# If the email has not gone out this long after it was asked for (its task lost: a crash right after the
# commit, Redis down), the timer loop asks again (enqueue_due_confirmations).
# The same lease bounds a worker's send (others skip it meanwhile).
CONFIRMATION_LEASE = dt.timedelta(seconds=60)
log = logging.getLogger(__name__)


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


# A send is retried after a failure, waiting RETRY_FIRST x 4^(n-1) (1 min, 4 min, 16 min, ... at most
# RETRY_MAX), and given up after MAX_ATTEMPTS sends or at once on a permanent (5xx) refusal.
MAX_ATTEMPTS = 6
RETRY_FIRST = dt.timedelta(minutes=1)
RETRY_MAX = dt.timedelta(hours=6)


class Sent(StrEnum):
    SENT = "sent"
    NOTHING = "nothing to send"
    RETRY = "failed, retried later"
    GIVEN_UP = "failed, given up"


def send_confirmation(*, order_id: str, now: dt.datetime | None = None) -> Sent:
    """Send the order's confirmation email unless it went out already (or is going out now).

    No lock is held while the mail server is talked to (on SQLite a write transaction locks the whole
    database): a short transaction claims the send with a lease (`confirmation_claimed_until`), so a
    second delivery of the task, even at once, skips; the send happens outside it; a second short
    transaction records the outcome. Left open (at least once, not exactly once, there): a worker that
    dies after the mail server took the email and before the record is written, or that takes longer
    than the lease (keep EMAIL_TIMEOUT well under it), lets the email go again once the lease ends.
    """
    now = now or timezone.now()
    message = _claim_send(order_id, now=now)
    if message is None:
        return Sent.NOTHING
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - whatever the backend raises, the order must not stay claimed for nothing
        log.warning("confirmation email of %s failed: %r", order_id, exc)
        return _record_failure(order_id, exc, now=now)
    _record_sent(order_id, now=now)
    return Sent.SENT


def _claim_send(order_id: str, *, now: dt.datetime) -> EmailMultiAlternatives | None:
    with transaction.atomic():
        order = lock_order(order_id)
        done = order.confirmation_sent_at or order.confirmation_failed_at
        if order.state != OrderState.CONFIRMED or done or not order.contact_email:
            if order.confirmation_due_at is not None:
                order.confirmation_due_at = None
                order.save(update_fields=["confirmation_due_at"])
            return None
        if another_sender_holds_the_lease(order, now):
            return None  # another worker is sending it; if it dies, the timer loop asks again after the lease
        message = confirmation_message(order)
        order.confirmation_attempts += 1
        order.confirmation_claimed_until = order.confirmation_due_at = now + CONFIRMATION_LEASE
        order.save(update_fields=["confirmation_attempts", "confirmation_claimed_until", "confirmation_due_at"])
    return message


def another_sender_holds_the_lease(order: Order, now: dt.datetime) -> bool:
    """Whether a worker claimed the email's send and its lease has not run out."""
    return order.confirmation_claimed_until is not None and order.confirmation_claimed_until > now


def _record_sent(order_id: str, *, now: dt.datetime) -> None:
    with transaction.atomic():
        order = lock_order(order_id)
        order.confirmation_sent_at, order.confirmation_due_at, order.confirmation_claimed_until = now, None, None
        order.save(
            update_fields=["confirmation_sent_at", "confirmation_due_at", "confirmation_claimed_until", "updated_at"]
        )
        record_change(
            order,
            action=AuditAction.CONFIRMATION_SENT,
            from_state=order.state,
            actor="system:email",
            reason=f"confirmation {order.reference} emailed",
            details={"attempt": order.confirmation_attempts},
        )


def is_permanent(exc: Exception) -> bool:
    """A 5xx refusal of this email (its address or content): sending it again would be refused again.
    Our own login refused is the server's configuration, not the email's: retried."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def _record_failure(order_id: str, exc: Exception, *, now: dt.datetime) -> Sent:
    error = f"{exc.__class__.__name__}: {exc}"[:300]
    with transaction.atomic():
        order = lock_order(order_id)
        attempt = order.confirmation_attempts
        order.confirmation_claimed_until = None
        if is_permanent(exc) or attempt >= MAX_ATTEMPTS:
            order.confirmation_failed_at, order.confirmation_due_at, outcome = now, None, Sent.GIVEN_UP
            reason = f"confirmation email given up after attempt {attempt}: {error}"
        else:
            wait = min(RETRY_FIRST * 4 ** (attempt - 1), RETRY_MAX)
            order.confirmation_due_at, outcome = now + wait, Sent.RETRY
            reason = f"confirmation email attempt {attempt} of {MAX_ATTEMPTS} failed, retried in {wait}: {error}"
        order.save(update_fields=["confirmation_claimed_until", "confirmation_failed_at", "confirmation_due_at"])
        record_change(
            order,
            action=AuditAction.CONFIRMATION_FAILED,
            from_state=order.state,
            actor="system:email",
            reason=reason[:500],
            details={"attempt": attempt, "error": error, "outcome": str(outcome)},
        )
    return outcome


def confirmation_message(order: Order) -> EmailMultiAlternatives:
    """The email in the language the order was made in (its page's, or the API's Accept-Language)."""
    with translation.override(order.language or settings.LANGUAGE_CODE):
        receipt = receipt_of(order)
        context = {"receipt": receipt, "find_booking_url": settings.SITE_URL + reverse("find-booking")}
        subject = _("Booking %(reference)s confirmed: %(flight)s %(route)s") % {
            "reference": receipt.reference,
            "flight": receipt.flight_code,
            "route": receipt.route,
        }
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string("emails/booking_confirmed.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[order.contact_email],
        )
        message.attach_alternative(render_to_string("emails/booking_confirmed.html", context), "text/html")
    return message
