"""Paid bookings' changes, cancellations and refunds as the operators see them: the dashboard's counts over
the last hour and day, and the figures GET /metrics exports for the alert rules (RefundStuck, RefundsFailing,
SeatChangeStuck)."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from operations import selectors
from orders import queue, services, tasks
from orders.metrics import refresh_snapshot
from orders.models import AuditAction, AuditEntry, BookingChange, Order, OrderState, Refund
from tests.paid_bookings import money_until_settled, two_zone_flight

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def gateway(settings, tmp_path, monkeypatch):
    settings.PAYMENT_GATEWAY_LEDGER = str(tmp_path / "gateway-ledger.sqlite3")
    settings.PAYMENT_LATENCY_SECONDS = 0.002
    settings.PAYMENT_FAILURE_RATE = 0.0
    settings.REFUND_FAILURE_RATE = 0.0
    settings.PAYMENT_BACKOFF_INITIAL_SECONDS = 0
    settings.PAYMENT_BACKOFF_MAX_SECONDS = 0
    monkeypatch.setattr(queue, "enqueue_payment", tasks.process_payment)
    monkeypatch.setattr(queue, "enqueue_confirmation", lambda order_id: None)
    monkeypatch.setattr(queue, "enqueue_notice", lambda notice_id: None)


@pytest.fixture
def money_worker(monkeypatch):
    """Sets whether the money workers run (at once) or are away (the charges and refunds wait)."""

    def running(on: bool) -> None:
        monkeypatch.setattr(queue, "enqueue_money", money_until_settled if on else lambda kind, pk: None)

    return running


@pytest.fixture
def book(django_capture_on_commit_callbacks):
    """Bookings on a flight in two days whose row 1 costs 150.00, the rest 100.00."""
    flight = two_zone_flight(code="FL-401", rows=4, front=(1, 1))

    def booked(labels) -> Order:
        order, _ = services.create_order(flight_code=flight.code, actor="test")
        services.select_seats(order_id=order.pk, labels=list(labels), actor="test")
        with django_capture_on_commit_callbacks(execute=True):
            services.submit_payment(order_id=order.pk, code="12345", actor="test")
        order.refresh_from_db()
        assert order.state == OrderState.CONFIRMED
        return order

    return booked


@pytest.fixture
def activity(book, money_worker, settings, django_capture_on_commit_callbacks):
    """One refund paid, one failed, one pending (the workers away), one seat change charging."""
    paid, failed, pending, changing = book(["2A"]), book(["2B"]), book(["2C"]), book(["3A"])
    money_worker(True)
    with django_capture_on_commit_callbacks(execute=True):  # the workers run once the change commits
        services.cancel_booking(order_id=paid.pk, actor="test")
    settings.REFUND_FAILURE_RATE = 1.0
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_booking(order_id=failed.pk, actor="test")
    money_worker(False)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_booking(order_id=pending.pk, actor="test")
        services.change_booking_seats(order_id=changing.pk, labels=["1A"], code="54321", actor="test")
    return {"paid": paid, "failed": failed, "pending": pending}


def test_the_after_booking_counts(activity, django_assert_num_queries):
    with django_assert_num_queries(3):
        figures = selectors.after_booking(now=timezone.now())
    assert figures.cancellations == (3, 3)
    assert figures.refunds == {"PENDING": (1, 1), "PAID": (1, 1), "FAILED": (1, 1)}
    paid = Refund.objects.get(order=activity["paid"])
    assert list(figures.refunded.values()) == [(paid.amount, paid.amount)] and paid.amount > Decimal(0)
    assert figures.changes == {"CHARGING": (1, 1), "DONE": (0, 0), "UNDONE": (0, 0)}
    later = selectors.after_booking(now=timezone.now() + dt.timedelta(hours=2))
    assert later.cancellations == (0, 3) and later.refunds["PAID"] == (0, 1)


def test_the_dashboard_shows_them(activity):
    staff = Client()
    staff.force_login(User.objects.create_user("ops", password="x", is_staff=True))
    html = staff.get("/admin/dashboard/?panels=1").content.decode()
    row = re.search(r'<tr data-refunds="failed">(.*?)</tr>', html, re.S)
    assert row is not None and re.findall(r"<td>(\d+)</td>", row.group(1)) == ["1", "1"]
    assert '<tr data-cancellations="all">' in html and "amount refunded" in html


def scrape(settings) -> str:
    settings.METRICS_TOKEN = "a-long-scrape-token"
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer a-long-scrape-token")
    assert response.status_code == 200
    return response.content.decode()


def value_of(text: str, sample: str) -> float:
    line = next(x for x in text.splitlines() if x.startswith(sample + " "))
    return float(line.split()[-1])


def test_metrics_expose_refunds_pending_failed_and_changes_charging(activity, settings):
    Refund.objects.filter(order=activity["pending"]).update(created_at=timezone.now() - dt.timedelta(minutes=20))
    refresh_snapshot()
    text = scrape(settings)
    assert value_of(text, 'seatbooking_refunds{state="pending"}') == 1
    assert value_of(text, 'seatbooking_refunds{state="failed"}') == 1
    assert 1200 <= value_of(text, "seatbooking_refund_oldest_pending_age_seconds") < 1300
    assert value_of(text, "seatbooking_seat_changes_charging") == 1


def test_a_retried_refund_is_as_old_as_its_last_retry(activity, money_worker, settings):
    """An operator's retry starts a new series of tries: RefundStuck measures from it, not from the ask."""
    long_ago = timezone.now() - dt.timedelta(hours=3)
    Refund.objects.update(created_at=long_ago)
    Refund.objects.filter(order=activity["pending"]).update(created_at=timezone.now() - dt.timedelta(minutes=10))
    failed = Refund.objects.get(order=activity["failed"])
    money_worker(False)
    services.retry_refund(refund_id=failed.pk, actor="staff:ops", reason="the bank is back")
    AuditEntry.objects.filter(order=activity["failed"], action=AuditAction.REFUND).update(created_at=long_ago)
    Refund.objects.filter(pk=failed.pk).update(state="FAILED")  # the first retry failed too: the latest counts
    services.retry_refund(refund_id=failed.pk, actor="staff:ops", reason="and again")
    refresh_snapshot()
    assert 600 <= value_of(scrape(settings), "seatbooking_refund_oldest_pending_age_seconds") < 700


def test_a_seat_change_charging_has_an_age(activity, settings):
    BookingChange.objects.update(created_at=timezone.now() - dt.timedelta(minutes=20))
    refresh_snapshot()
    assert 1200 <= value_of(scrape(settings), "seatbooking_seat_change_oldest_charging_age_seconds") < 1300


def test_with_nothing_pending_the_oldest_age_is_zero(settings, flight):
    refresh_snapshot()
    text = scrape(settings)
    assert value_of(text, "seatbooking_refund_oldest_pending_age_seconds") == 0
    assert value_of(text, "seatbooking_seat_changes_charging") == 0
    assert value_of(text, "seatbooking_seat_change_oldest_charging_age_seconds") == 0
