"""The confirmation email and the booking reference: once per booking, even if the task comes twice."""

import time

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django_q.models import OrmQ

from orders import queue, services, tasks
from orders.gateway import ChargeResult
from orders.models import AttemptOutcome, AuditEntry, Order
from orders.services import reference as references
from orders.services.payments import finish_payment_attempt, start_payment_attempt
from tests.processes import Processes, wait_until

SUCCESS = ChargeResult(True, AttemptOutcome.SUCCESS)
PASSENGERS = [
    {"seat": "1A", "firstName": "Ada", "lastName": "Lovelace"},
    {"seat": "1B", "firstName": "Charles", "lastName": "Babbage"},
]


def named_and_paying(flight, *, email: str | None = "ada@example.com") -> str:
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A", "1B"], actor="test")
    if email:
        services.set_passengers(order_id=order.pk, passengers=PASSENGERS, email=email, actor="test")
    services.submit_payment(order_id=order.pk, code="12345", actor="test")
    return order.pk


@pytest.fixture
def enqueued(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)
    monkeypatch.setattr(queue, "enqueue_confirmation", calls.append)
    return calls


def confirm(order_id: str) -> None:
    ticket = start_payment_attempt(order_id=order_id)
    assert ticket is not None
    finish_payment_attempt(order_id=order_id, number=ticket.number, result=SUCCESS)


@pytest.mark.django_db
def test_confirming_asks_for_one_email_with_everything_a_traveller_needs(
    flight, enqueued, django_capture_on_commit_callbacks
):
    order_id = named_and_paying(flight)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(order_id)
    assert enqueued == [order_id]
    assert tasks.send_confirmation_email(order_id) == "sent"
    [email] = mail.outbox
    assert isinstance(email, EmailMultiAlternatives)
    order = Order.objects.get(pk=order_id)
    assert email.to == ["ada@example.com"] and order.reference and order.reference in str(email.subject)
    text, (html, kind) = str(email.body), email.alternatives[0]
    html = str(html)
    assert kind == "text/html"
    for part in (order.reference, flight.code, "Tel Aviv", "1A", "1B", "Ada Lovelace", "Charles Babbage", "200.00 EUR"):
        assert part in text and part in html, part
    assert flight.departs_at.strftime("%Y") in text


@pytest.mark.django_db
def test_a_redelivered_task_sends_nothing_more(flight, enqueued, django_capture_on_commit_callbacks):
    order_id = named_and_paying(flight)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(order_id)
    assert [tasks.send_confirmation_email(order_id) for _ in range(3)] == ["sent", "nothing to send", "nothing to send"]
    assert len(mail.outbox) == 1
    assert AuditEntry.objects.filter(order_id=order_id, action="confirmation_sent").count() == 1


@pytest.mark.django_db
def test_without_a_contact_address_no_email_is_asked_for(flight, enqueued, django_capture_on_commit_callbacks):
    order_id = named_and_paying(flight, email=None)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(order_id)
    assert enqueued == [] and tasks.send_confirmation_email(order_id) == "nothing to send" and mail.outbox == []
    assert Order.objects.get(pk=order_id).reference  # a reference all the same


@pytest.mark.django_db
def test_an_order_not_confirmed_gets_no_email(flight, enqueued):
    order_id = named_and_paying(flight)
    assert tasks.send_confirmation_email(order_id) == "nothing to send" and mail.outbox == []


@pytest.mark.django_db
def test_a_reference_clash_draws_another(flight, enqueued, monkeypatch):
    first = named_and_paying(flight)
    draws = iter(["K7MX3Q", "K7MX3Q", "P2RT9W"])
    monkeypatch.setattr(references, "new_reference", lambda: next(draws))
    confirm(first)
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["2A"], actor="test")
    services.submit_payment(order_id=order.pk, code="12345", actor="test")
    confirm(order.pk)
    assert list(
        Order.objects.filter(pk__in=[first, order.pk]).order_by("reference").values_list("reference", flat=True)
    ) == [
        "K7MX3Q",
        "P2RT9W",
    ]


def test_references_use_an_alphabet_without_look_alikes():
    drawn = {references.new_reference() for _ in range(2000)}
    # Random draws from 31^6: two of 2,000 are the same about once in 440 runs (a failure here once).
    assert len(drawn) >= 1995 and all(len(r) == 6 for r in drawn)
    assert not set("".join(drawn)) & set("0O1IL") and set("".join(drawn)) == set(references.REFERENCE_ALPHABET)


# Two deliveries at once, with a control: test_confirmation_failures.py.


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_real_cluster_emails_the_confirmation_once_even_when_the_task_comes_again(flight, tmp_path, settings):
    """The worker sends through the backend its environment names (here a file per email)."""
    procs = Processes(tmp_path)
    mailbox = tmp_path / "mail"
    procs.configure(
        settings,
        PAYMENT_LATENCY_SECONDS=0.05,
        PAYMENT_FAILURE_RATE=0,
        EMAIL_BACKEND="tests.orders.slow_mail.SlowFileBackend",  # a send takes 1 s: the deliveries overlap
        EMAIL_FILE_PATH=str(mailbox),
        Q_WORKERS=3,
    )
    try:
        order_id = named_and_paying(flight)
        confirm(order_id)  # its commit enqueues the email task; the same task comes twice more at once
        queue.enqueue_confirmation(order_id)
        queue.enqueue_confirmation(order_id)
        procs.start("run_worker")  # its workers take the three deliveries together
        procs.start("run_timers")
        wait_until(
            lambda: Order.objects.get(pk=order_id).confirmation_sent_at is not None, timeout=20, what="the email"
        )
        wait_until(lambda: not OrmQ.objects.exists(), timeout=10, what="the workers to take all deliveries")
        time.sleep(1.5)  # a second send, were there one, would have finished by now
        files = list(mailbox.iterdir())
        reference = Order.objects.get(pk=order_id).reference
        assert len(files) == 1 and reference in files[0].read_text()
        assert AuditEntry.objects.filter(order_id=order_id, action="confirmation_sent").count() == 1
    finally:
        procs.kill_all()
        print(procs.logs())


@pytest.mark.django_db
def test_a_lost_email_task_is_asked_for_again_by_the_timer_loop_once_per_lease(
    flight, enqueued, django_capture_on_commit_callbacks
):
    import datetime as dt

    from django.utils import timezone

    order_id = named_and_paying(flight)
    confirm(order_id)  # its enqueue is lost: the on-commit callback never ran
    now = timezone.now()
    assert enqueued == [] and services.enqueue_due_confirmations(now=now) == []  # not due yet
    later = now + dt.timedelta(seconds=61)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.enqueue_due_confirmations(now=later) == [order_id]
        assert services.enqueue_due_confirmations(now=later) == []  # claimed for one lease
    assert enqueued == [order_id]
    assert tasks.send_confirmation_email(order_id) == "sent"
    much_later = later + dt.timedelta(hours=1)
    assert services.enqueue_due_confirmations(now=much_later) == []  # sent: never asked for again
    assert len(mail.outbox) == 1
