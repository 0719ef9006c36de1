"""Emails about a booking after it was confirmed: a seat change, a cancellation, a refund, a late payment
kept. Each is a Notice row made once per event it tells (its unique key), in the transaction of the change,
and sent by a worker at most once, as the confirmation is (confirmation.py): a short transaction claims the
send with a lease, the send happens outside any transaction, a second short one records the outcome."""

import datetime as dt
import logging
from functools import partial

from django.core.exceptions import ObjectDoesNotExist
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from core.locking import claim
from orders import queue
from orders.models import AuditAction, Notice, Order
from orders.services.common import lock_order, record_change
from orders.services.confirmation import MAX_ATTEMPTS, RETRY_FIRST, RETRY_MAX, Sent, is_permanent
from orders.services.notice_emails import notice_message

# If a notice has not gone out this long after it was asked for (its task lost), the timer loop asks a
# worker again (enqueue_due_notices). The same lease bounds a worker's send (others skip it meanwhile).
NOTICE_LEASE = dt.timedelta(seconds=60)
log = logging.getLogger(__name__)

__all__ = ["NOTICE_LEASE", "Sent", "enqueue_due_notices", "notify_on_commit", "send_notice"]


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


def enqueue_due_notices(*, now: dt.datetime | None = None, limit: int = 100) -> list[int]:
    """The timer loop's: ask again for notices whose task was lost or whose retry is due, each once per lease."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            claim(Notice.objects.all()).filter(due_at__lte=now).order_by("due_at").values_list("pk", flat=True)[:limit]
        )
        if ids:
            Notice.objects.filter(pk__in=ids).update(due_at=now + NOTICE_LEASE)
            for notice_id in ids:
                transaction.on_commit(partial(queue.enqueue_notice, notice_id))
    return ids


def send_notice(*, notice_id: int, now: dt.datetime | None = None) -> Sent:
    """Send the notice unless it went out already (or is going out now).

    No lock is held while the mail server is talked to; a second delivery of the task, even at once, finds
    the lease and skips. Left open, as for the confirmation: a worker that dies after the mail server took
    the email and before the record is written lets it go again once the lease ends (at least once there).
    """
    now = now or timezone.now()
    message = _claim_send(notice_id, now=now)
    if message is None:
        return Sent.NOTHING
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - whatever the backend raises, the notice must not stay claimed for nothing
        log.warning("notice email %s failed: %r", notice_id, exc)
        return _record_failure(notice_id, exc, now=now)
    _record_sent(notice_id, now=now)
    return Sent.SENT


def _locked_notice(notice_id: int) -> tuple[Order, Notice] | None:
    """The notice's order locked first (the lock order every change keeps), then the notice read under it."""
    order_id = Notice.objects.filter(pk=notice_id).values_list("order_id", flat=True).first()
    if order_id is None:
        return None
    order = lock_order(order_id)
    return order, Notice.objects.get(pk=notice_id)


def _claim_send(notice_id: int, *, now: dt.datetime) -> EmailMultiAlternatives | None:
    with transaction.atomic():
        found = _locked_notice(notice_id)
        if found is None:
            return None
        order, notice = found
        if notice.sent_at or notice.failed_at or not order.contact_email:
            if notice.due_at is not None:
                notice.due_at = None
                notice.save(update_fields=["due_at"])
            return None
        if notice.claimed_until is not None and notice.claimed_until > now:
            return None  # another worker is sending it; if it dies, the timer loop asks again after the lease
        try:
            message = notice_message(notice, order)
        except ObjectDoesNotExist:  # what it tells is gone (its row deleted by hand): no email can say it
            log.warning("notice %s (%s) given up: what it tells no longer exists", notice_id, notice.key)
            notice.failed_at, notice.due_at = now, None
            notice.save(update_fields=["failed_at", "due_at"])
            return None
        notice.attempts += 1
        notice.claimed_until = notice.due_at = now + NOTICE_LEASE
        notice.save(update_fields=["attempts", "claimed_until", "due_at"])
    return message


def _record_sent(notice_id: int, *, now: dt.datetime) -> None:
    with transaction.atomic():
        found = _locked_notice(notice_id)
        if found is None:
            return
        order, notice = found
        notice.sent_at, notice.due_at, notice.claimed_until = now, None, None
        notice.save(update_fields=["sent_at", "due_at", "claimed_until"])
        record_change(
            order,
            action=AuditAction.NOTICE_SENT,
            from_state=order.state,
            actor="system:email",
            reason=f"{notice.kind} email ({notice.key}) sent"[:500],
            details={"notice_id": notice.pk, "kind": notice.kind, "attempt": notice.attempts},
        )


def _record_failure(notice_id: int, exc: Exception, *, now: dt.datetime) -> Sent:
    """Retried later (RETRY_FIRST x 4^(n-1), at most RETRY_MAX), given up after MAX_ATTEMPTS or a 5xx refusal;
    the notice's row and the log say so (there is no audit action for a failed notice)."""
    error = f"{exc.__class__.__name__}: {exc}"[:300]
    with transaction.atomic():
        found = _locked_notice(notice_id)
        if found is None:
            return Sent.NOTHING
        _, notice = found
        notice.claimed_until = None
        if is_permanent(exc) or notice.attempts >= MAX_ATTEMPTS:
            notice.failed_at, notice.due_at, outcome = now, None, Sent.GIVEN_UP
        else:
            wait = min(RETRY_FIRST * 4 ** (notice.attempts - 1), RETRY_MAX)
            notice.due_at, outcome = now + wait, Sent.RETRY
        notice.save(update_fields=["claimed_until", "failed_at", "due_at"])
    log.warning("notice email %s attempt %d: %s (%s)", notice_id, notice.attempts, outcome, error)
    return outcome
