"""A failed confirmation email is retried with a backoff and given up after a
few tries (at once on a permanent refusal), with an audit row and a metric; no lock is held while the
mail server is talked to, and two deliveries at once still send one email (with a control)."""

# ruff: noqa: F811 - fixtures imported from the issue's test modules are the tests' parameters

import datetime as dt
import smtplib
import threading

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.utils import timezone

from orders import metrics, services, tasks
from orders.models import AuditEntry, Order
from orders.services import confirmation
from tests.orders.services.test_confirmation import confirm, enqueued, named_and_paying  # noqa: F401 - fixture


def refusing(monkeypatch, exc: Exception) -> list[str]:
    """Make every send fail with `exc`; returns the list of addresses tried."""
    tried: list[str] = []

    def send(self, fail_silently=False):
        tried.append(self.to[0])
        raise exc

    monkeypatch.setattr(EmailMultiAlternatives, "send", send)
    return tried


def run_timer_loop(order_id: str, *, start: dt.datetime, minutes: int) -> None:
    """The timer loop once a minute for `minutes`, each enqueue delivered to a worker at once."""
    for minute in range(minutes):
        now = start + dt.timedelta(minutes=minute)
        if order_id in services.enqueue_due_confirmations(now=now):
            services.send_confirmation(order_id=order_id, now=now)


@pytest.mark.django_db
def test_a_refused_email_is_retried_with_a_backoff_then_given_up(flight, enqueued, monkeypatch):
    order_id = named_and_paying(flight)
    confirm(order_id)
    tried = refusing(monkeypatch, smtplib.SMTPResponseException(451, b"try again later"))
    start = timezone.now()
    assert tasks.send_confirmation_email(order_id) == "failed, retried later"
    run_timer_loop(order_id, start=start, minutes=24 * 60)
    assert len(tried) == confirmation.MAX_ATTEMPTS  # 6 tries in a day, not one a minute
    order = Order.objects.get(pk=order_id)
    assert order.confirmation_failed_at and order.confirmation_due_at is None and not order.confirmation_sent_at
    rows = list(AuditEntry.objects.filter(order_id=order_id, action="confirmation_failed").order_by("pk"))
    assert len(rows) == confirmation.MAX_ATTEMPTS and "given up" in rows[-1].reason and "451" in rows[-1].reason
    assert services.enqueue_due_confirmations(now=start + dt.timedelta(days=30)) == []
    figures = metrics.database_figures()["emails"]
    assert (figures["given_up"], figures["failed_sends"]) == (1, confirmation.MAX_ATTEMPTS)


@pytest.mark.django_db
def test_a_permanent_refusal_is_given_up_at_once(flight, enqueued, monkeypatch):
    order_id = named_and_paying(flight)
    confirm(order_id)
    tried = refusing(monkeypatch, smtplib.SMTPRecipientsRefused({"ada@example.com": (550, b"no such mailbox")}))
    assert tasks.send_confirmation_email(order_id) == "failed, given up"
    run_timer_loop(order_id, start=timezone.now(), minutes=120)
    assert tried == ["ada@example.com"]
    assert AuditEntry.objects.get(order_id=order_id, action="confirmation_failed").details["outcome"] == (
        "failed, given up"
    )


@pytest.mark.django_db
def test_a_send_that_works_on_a_retry_is_sent_once(flight, enqueued, monkeypatch):
    order_id = named_and_paying(flight)
    confirm(order_id)
    refusing(monkeypatch, smtplib.SMTPServerDisconnected("gone"))
    start = timezone.now()
    assert tasks.send_confirmation_email(order_id) == "failed, retried later"
    monkeypatch.undo()
    run_timer_loop(order_id, start=start, minutes=60)
    assert len(mail.outbox) == 1 and Order.objects.get(pk=order_id).confirmation_sent_at


@pytest.mark.django_db
def test_the_mail_server_is_talked_to_outside_any_transaction(flight, enqueued, monkeypatch):
    order_id = named_and_paying(flight)
    confirm(order_id)
    depth: list[int] = []  # transactions open around the send (the test's own is one of them)
    real_send = EmailMultiAlternatives.send

    def send(self, fail_silently=False):
        depth.append(len(connection.atomic_blocks))
        return real_send(self, fail_silently)

    monkeypatch.setattr(EmailMultiAlternatives, "send", send)
    outside = len(connection.atomic_blocks)
    assert tasks.send_confirmation_email(order_id) == "sent"
    assert depth == [outside] and len(mail.outbox) == 1


def two_deliveries_while_the_first_is_sending(order_id: str, monkeypatch) -> list[str]:
    """The first delivery's send waits until a second delivery has been handled: both deliveries at once."""
    sending, second_done = threading.Event(), threading.Event()
    real_send = EmailMultiAlternatives.send
    calls = iter(range(10))

    def send(self, fail_silently=False):
        if next(calls) == 0:
            sending.set()
            second_done.wait(10)
        return real_send(self, fail_silently)

    monkeypatch.setattr(EmailMultiAlternatives, "send", send)
    answers: list[str] = []

    def first():
        try:
            answers.append(tasks.send_confirmation_email(order_id))
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert sending.wait(10)
    answers.append(tasks.send_confirmation_email(order_id))
    second_done.set()
    thread.join()
    return sorted(answers)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_deliveries_at_once_send_one_email(flight, enqueued, monkeypatch):
    order_id = named_and_paying(flight)
    confirm(order_id)
    assert two_deliveries_while_the_first_is_sending(order_id, monkeypatch) == ["nothing to send", "sent"]
    assert len(mail.outbox) == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_control_without_the_lease_two_deliveries_at_once_send_two(flight, enqueued, monkeypatch):
    monkeypatch.setattr(confirmation, "another_sender_holds_the_lease", lambda order, now: False)
    order_id = named_and_paying(flight)
    confirm(order_id)
    assert two_deliveries_while_the_first_is_sending(order_id, monkeypatch) == ["sent", "sent"]
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_the_email_links_to_find_my_booking(flight, enqueued, settings):
    settings.SITE_URL = "https://seats.example"
    order_id = named_and_paying(flight)
    confirm(order_id)
    tasks.send_confirmation_email(order_id)
    [email] = mail.outbox
    assert isinstance(email, EmailMultiAlternatives)
    assert "https://seats.example/find-booking" in str(email.body)
    assert 'href="https://seats.example/find-booking"' in str(email.alternatives[0][0])
