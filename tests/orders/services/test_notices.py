"""The emails after booking (a seat change, a cancellation, a refund, a late payment kept): each sent once,
in the order's language, even if its task comes twice or the mail server fails first."""

import datetime as dt
import smtplib

import pytest
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from orders import queue, services, tasks
from orders.gateway_ledger_sql import Ledger
from orders.models import AuditEntry, Notice, NoticeKind, Order, OrderState
from tests.orders.services.test_manage import _failed_with_a_late_charge
from tests.paid_bookings import money_until_settled, two_zone_flight

pytestmark = pytest.mark.django_db

NAMES = {"4A": ("Ada", "Lovelace"), "4B": ("Alan", "Turing"), "1A": ("Ada", "Lovelace"), "1B": ("Alan", "Turing")}


@pytest.fixture(autouse=True)
def gateway(settings, tmp_path):
    """The simulated gateway, quick and agreeable unless a test says otherwise; its own ledger."""
    settings.PAYMENT_GATEWAY_LEDGER = str(tmp_path / "gateway-ledger.sqlite3")
    settings.PAYMENT_LATENCY_SECONDS = 0.002
    settings.PAYMENT_FAILURE_RATE = 0.0
    settings.REFUND_FAILURE_RATE = 0.0
    settings.PAYMENT_BACKOFF_INITIAL_SECONDS = 0
    settings.PAYMENT_BACKOFF_MAX_SECONDS = 0
    return Ledger(settings.PAYMENT_GATEWAY_LEDGER)


@pytest.fixture
def notices(monkeypatch) -> list[int]:
    """The services' work run at once, but the notices' tasks only listed: each test delivers them."""
    asked: list[int] = []
    monkeypatch.setattr(queue, "enqueue_payment", tasks.process_payment)
    monkeypatch.setattr(queue, "enqueue_money", lambda kind, pk: money_until_settled(kind, pk))
    monkeypatch.setattr(queue, "enqueue_confirmation", lambda order_id: None)
    monkeypatch.setattr(queue, "enqueue_notice", asked.append)
    return asked


@pytest.fixture
def zoned_flight(db):
    """Rows 1-2 cost 150.00 (Front), the rest 100.00; departs in two days."""
    return two_zone_flight(code="FL-201")


@pytest.fixture
def booked(zoned_flight, notices, django_capture_on_commit_callbacks):
    """A CONFIRMED booking, named, with a contact address, made in `language`."""

    def book(labels=("4A", "4B"), language="") -> Order:
        order, _ = services.create_order(flight_code=zoned_flight.code, actor="test", language=language)
        services.select_seats(order_id=order.pk, labels=list(labels), actor="test")
        passengers = [{"seat": s, "firstName": NAMES[s][0], "lastName": NAMES[s][1]} for s in labels]
        services.set_passengers(order_id=order.pk, passengers=passengers, email="ada@example.com", actor="test")
        with django_capture_on_commit_callbacks(execute=True):
            services.submit_payment(order_id=order.pk, code="12345", actor="test")
        order.refresh_from_db()
        assert order.state == OrderState.CONFIRMED
        return order

    return book


def deliver(asked: list[int], times: int = 1) -> list[str]:
    """Each notice's task run `times` (a redelivery: twice), in the order they were asked for."""
    return [tasks.send_notice_email(notice_id) for notice_id in asked for _ in range(times)]


def bodies(email) -> tuple[str, str]:
    return str(email.body), str(email.alternatives[0][0])


def test_a_seat_change_is_emailed_once_with_old_and_new_seats_and_the_charge(
    booked, notices, mailoutbox, django_capture_on_commit_callbacks
):
    order = booked()
    with django_capture_on_commit_callbacks(execute=True):
        services.change_booking_seats(order_id=order.pk, labels=["1A", "1B"], code="54321", actor="test")
    assert deliver(notices, times=2) == ["sent", "nothing to send"]
    [email] = mailoutbox
    assert email.to == ["ada@example.com"] and email.subject == f"Booking {order.reference}: seats changed"
    for part in bodies(email):
        for words in ("4A, 4B", "1A, 1B", "Difference charged", "100.00 EUR", order.reference):
            assert words in part, words
    assert AuditEntry.objects.filter(order=order, action="notice_sent").count() == 1


def test_a_cheaper_change_tells_the_difference_to_be_refunded_then_the_refund(
    booked, notices, mailoutbox, django_capture_on_commit_callbacks
):
    order = booked(["1A", "1B"])
    with django_capture_on_commit_callbacks(execute=True):
        services.change_booking_seats(order_id=order.pk, labels=["4A", "4B"], code=None, actor="test")
    assert deliver(notices, times=2) == ["sent", "nothing to send", "sent", "nothing to send"]
    changed, refunded = mailoutbox
    assert "Difference to be refunded" in changed.body and "CN-" in changed.body
    assert refunded.subject == f"Booking {order.reference}: refund paid"
    assert "100.00 EUR" in refunded.body and "cheaper seats" in refunded.body


def test_a_cancellation_is_emailed_once_with_the_refund_and_its_credit_note(
    booked, notices, mailoutbox, django_capture_on_commit_callbacks
):
    order = booked()
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_booking(order_id=order.pk, actor="test")
    kinds = list(Notice.objects.filter(pk__in=notices).values_list("kind", flat=True))
    assert kinds == [NoticeKind.CANCELLED, NoticeKind.REFUNDED]
    assert deliver(notices, times=3) == ["sent", "nothing to send", "nothing to send"] * 2
    cancelled, refunded = mailoutbox
    refund = order.refunds.get()
    assert cancelled.subject == f"Booking {order.reference}: cancelled"
    for part in bodies(cancelled):
        for words in ("4A, 4B", refund.credit_note, "Cancellation fee", f"{refund.amount} EUR"):
            assert words in part, words
    assert refunded.subject == f"Booking {order.reference}: refund paid"
    for part in bodies(refunded):
        assert refund.credit_note in part and "4A, 4B" in part


def test_a_partial_cancellation_names_the_seats_given_back_and_those_kept(
    booked, notices, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.PARTIAL_CANCELLATION = True
    order = booked()
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_booking(order_id=order.pk, seats=["4B"], actor="test")
    deliver(notices)
    cancelled = mailoutbox[0]
    assert cancelled.subject == f"Booking {order.reference}: seats cancelled"
    assert "Seats cancelled: 4B" in cancelled.body and "Seats now: 4A" in cancelled.body


def test_a_late_payment_kept_is_emailed_once_in_the_language_of_the_order(
    zoned_flight, gateway, settings, notices, mailoutbox, django_capture_on_commit_callbacks
):
    order = _failed_with_a_late_charge(zoned_flight, gateway, settings, django_capture_on_commit_callbacks)
    Order.objects.filter(pk=order.pk).update(contact_email="ada@example.com", language="pt")
    assert tasks.check_late_payments() == {order.pk: "confirmed"}
    order.refresh_from_db()
    [notice] = Notice.objects.filter(order=order)
    assert notice.kind == NoticeKind.LATE_CONFIRMED
    assert [tasks.send_notice_email(notice.pk) for _ in range(2)] == ["sent", "nothing to send"]
    [email] = mailoutbox
    assert email.subject == f"Reserva {order.reference}: confirmada afinal"
    for part in bodies(email):
        assert "3A, 3B" in part and str(order.reference) in part


def test_a_failing_mail_server_is_tried_again_later_and_the_email_goes_once(
    booked, notices, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    order = booked()
    with django_capture_on_commit_callbacks(execute=True):
        services.change_booking_seats(order_id=order.pk, labels=["5A", "5B"], code=None, actor="test")
    [notice_id] = notices
    sends = EmailBackend.send_messages
    monkeypatch.setattr(EmailBackend, "send_messages", _refuse)
    now = timezone.now()
    assert services.send_notice(notice_id=notice_id, now=now) == "failed, retried later"
    notice = Notice.objects.get(pk=notice_id)
    assert notice.attempts == 1 and notice.due_at == now + dt.timedelta(minutes=1) and not notice.sent_at
    assert services.enqueue_due_notices(now=now + dt.timedelta(seconds=30)) == []  # not yet
    monkeypatch.setattr(EmailBackend, "send_messages", sends)
    later = now + dt.timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.enqueue_due_notices(now=later) == [notice_id]
    assert notices == [notice_id, notice_id]  # asked again
    assert deliver(notices) == ["sent", "nothing to send"]
    assert len(mailoutbox) == 1 and "The new seats cost the same" in mailoutbox[0].body
    assert services.enqueue_due_notices(now=later + dt.timedelta(hours=1)) == []


def test_a_permanent_refusal_is_given_up_at_once(
    booked, notices, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    order = booked()
    with django_capture_on_commit_callbacks(execute=True):
        services.change_booking_seats(order_id=order.pk, labels=["5A", "5B"], code=None, actor="test")
    monkeypatch.setattr(EmailBackend, "send_messages", _refuse_for_good)
    assert deliver(notices, times=2) == ["failed, given up", "nothing to send"]
    assert Notice.objects.get(pk=notices[0]).failed_at and not mailoutbox


def test_a_booking_made_in_portuguese_is_told_in_portuguese(
    booked, notices, mailoutbox, django_capture_on_commit_callbacks
):
    order = booked(language="pt")
    with django_capture_on_commit_callbacks(execute=True):
        services.change_booking_seats(order_id=order.pk, labels=["1A", "1B"], code="54321", actor="test")
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_booking(order_id=order.pk, actor="test", staff=True)
    deliver(notices)
    subjects = [email.subject for email in mailoutbox]
    assert subjects[:2] == [f"Reserva {order.reference}: lugares alterados", f"Reserva {order.reference}: cancelada"]
    assert "Lugares antes:" in mailoutbox[0].body and "Lugares cancelados:" in mailoutbox[1].body


def _refuse(self, messages):
    raise smtplib.SMTPServerDisconnected("the mail server went away")


def _refuse_for_good(self, messages):
    raise smtplib.SMTPRecipientsRefused({"ada@example.com": (550, b"no such mailbox")})


def test_a_notice_whose_change_is_gone_is_given_up_without_an_email(booked, mailoutbox):
    order = booked()
    notice = Notice.objects.create(order=order, kind=NoticeKind.SEATS_CHANGED, key="change:999999")
    assert tasks.send_notice_email(notice.pk) == "nothing to send"
    notice.refresh_from_db()
    assert notice.failed_at and notice.due_at is None and not mailoutbox
