"""The emails a Notice sends (notices.py), in the order's language: what changed, from the notice's key
("change:<id>", "refund:<id>", "cancel:...", "late:...") and the rows it names."""

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from orders.models import AuditAction, AuditEntry, BookingChange, Notice, NoticeKind, Order, OrderState, Refund
from orders.receipt import receipt_of


def notice_message(notice: Notice, order: Order) -> EmailMultiAlternatives:
    """The notice's email, text and HTML, to the order's contact address."""
    with translation.override(order.language or settings.LANGUAGE_CODE):
        context = {
            "receipt": receipt_of(order),
            "find_booking_url": settings.SITE_URL + reverse("find-booking"),
            **_what_happened(notice, order),
        }
        subject = _subject(notice.kind, context)
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string(f"emails/notice_{notice.kind}.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[order.contact_email],
        )
        message.attach_alternative(render_to_string(f"emails/notice_{notice.kind}.html", context), "text/html")
    return message


def _key_id(notice: Notice) -> int:
    return int(notice.key.split(":")[1])


def _what_happened(notice: Notice, order: Order) -> dict[str, Any]:
    if notice.kind == NoticeKind.SEATS_CHANGED:
        change = BookingChange.objects.get(pk=_key_id(notice), order=order)
        return {
            "change": change,
            "amount": abs(change.difference),
            "refund": Refund.objects.filter(change=change).first(),
        }
    if notice.kind == NoticeKind.REFUNDED:
        return {"refund": Refund.objects.get(pk=_key_id(notice), order=order)}
    if notice.kind == NoticeKind.CANCELLED:
        return _cancellation(notice, order)
    return {}  # late_confirmed: the receipt says it all


def _cancellation(notice: Notice, order: Order) -> dict[str, Any]:
    """The cancellation the notice was made with: its audit entry, written just before it in that transaction."""
    entry = (
        AuditEntry.objects.filter(order=order, action=AuditAction.CANCEL_BOOKING, created_at__lte=notice.created_at)
        .order_by("-created_at", "-id")
        .first()
    )
    details = entry.details if entry else {}
    refund_id = details.get("refund_id")
    return {
        "seats": details.get("seats", []),
        "whole": entry is not None and entry.to_state == OrderState.CANCELLED,
        "fee": details.get("fee", "0.00"),
        "refund": Refund.objects.filter(pk=refund_id).first() if refund_id else None,
    }


def _subject(kind: str, context: dict[str, Any]) -> str:
    receipt, refund = context["receipt"], context.get("refund")
    reference = receipt.reference or (refund.credit_note if refund else "")
    if kind == NoticeKind.SEATS_CHANGED:
        return _("Booking %(reference)s: seats changed") % {"reference": reference}
    if kind == NoticeKind.CANCELLED and context["whole"]:
        return _("Booking %(reference)s: cancelled") % {"reference": reference}
    if kind == NoticeKind.CANCELLED:
        return _("Booking %(reference)s: seats cancelled") % {"reference": reference}
    if kind == NoticeKind.REFUNDED and not receipt.reference:  # a late payment paid back: never a booking
        return _("Refund %(credit_note)s paid") % {"credit_note": reference}
    if kind == NoticeKind.REFUNDED:
        return _("Booking %(reference)s: refund paid") % {"reference": reference}
    return _("Booking %(reference)s: confirmed after all") % {"reference": reference}
