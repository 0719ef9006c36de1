"""The operators' tools for a paid booking in the admin: cancel (by policy, fee waived) with a reason asked on
an intermediate page, change seats, retry a failed refund; refusals shown as messages, never a 500."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client

from inventory.models import HoldState, SeatHold
from orders import queue, services, tasks
from orders.models import AuditEntry, BookingChange, ChangeState, Order, OrderState, Refund, RefundState
from tests.paid_bookings import money_until_settled, two_zone_flight

pytestmark = pytest.mark.django_db
ORDERS = "/admin/orders/order/"
REFUNDS = "/admin/orders/refund/"


@pytest.fixture(autouse=True)
def gateway(settings, tmp_path, monkeypatch):
    """The simulated gateway, quick and agreeable; the workers' tasks run at once."""
    settings.PAYMENT_GATEWAY_LEDGER = str(tmp_path / "gateway-ledger.sqlite3")
    settings.PAYMENT_LATENCY_SECONDS = 0.002
    settings.PAYMENT_FAILURE_RATE = 0.0
    settings.REFUND_FAILURE_RATE = 0.0
    settings.PAYMENT_BACKOFF_INITIAL_SECONDS = 0
    settings.PAYMENT_BACKOFF_MAX_SECONDS = 0
    monkeypatch.setattr(queue, "enqueue_payment", tasks.process_payment)
    monkeypatch.setattr(queue, "enqueue_money", money_until_settled)
    monkeypatch.setattr(queue, "enqueue_confirmation", lambda order_id: None)
    monkeypatch.setattr(queue, "enqueue_notice", lambda notice_id: None)


@pytest.fixture
def staff():
    client = Client()
    client.force_login(User.objects.create_user("olga", password="x", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def booked(django_capture_on_commit_callbacks):
    """A CONFIRMED booking of 4A and 4B (200.00) on a flight whose rows 1-2 cost 150.00, the rest 100.00."""
    flight = two_zone_flight(code="FL-301")

    def book(labels=("4A", "4B")) -> Order:
        order, _ = services.create_order(flight_code=flight.code, actor="test")
        services.select_seats(order_id=order.pk, labels=list(labels), actor="test")
        with django_capture_on_commit_callbacks(execute=True):
            services.submit_payment(order_id=order.pk, code="12345", actor="test")
        order.refresh_from_db()
        assert order.state == OrderState.CONFIRMED
        return order

    return book


def act(client, url: str, action: str, ids: list, **fields):
    return client.post(url, {"action": action, "_selected_action": ids, **fields}, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_cancel_asks_for_a_reason_first(staff, booked):
    order = booked()
    page = act(staff, ORDERS, "cancel_booking_by_policy", [order.pk])
    html = page.content.decode()
    assert page.status_code == 200 and 'name="reason"' in html and order.pk in html
    order.refresh_from_db()
    assert order.state == OrderState.CONFIRMED
    # applied without a reason: the form again, nothing done
    again = act(staff, ORDERS, "cancel_booking_by_policy", [order.pk], apply="yes", reason="")
    assert 'name="reason"' in again.content.decode()
    assert Order.objects.get(pk=order.pk).state == OrderState.CONFIRMED


def test_cancel_with_a_reason_refunds_and_frees_the_seats(staff, booked, django_capture_on_commit_callbacks):
    order = booked()
    with django_capture_on_commit_callbacks(execute=True):
        done = act(staff, ORDERS, "cancel_booking_by_policy", [order.pk], apply="yes", reason="flight moved")
    assert done.status_code == 200 and any("cancelled" in m for m in messages_of(done))
    order.refresh_from_db()
    assert order.state == OrderState.CANCELLED
    refund = Refund.objects.get(order=order)
    assert (refund.state, refund.amount, refund.note) == (RefundState.PAID, Decimal("200.00"), "flight moved")
    assert refund.actor.startswith("admin:olga@")
    assert not SeatHold.objects.filter(order_id=order.pk, state=HoldState.CONFIRMED).exists()
    entry = AuditEntry.objects.filter(order=order, action="cancel_booking").get()
    assert "flight moved" in entry.reason and entry.actor.startswith("admin:olga@")


def test_cancel_with_the_fee_waived_refunds_in_full_after_the_window(
    staff, booked, settings, django_capture_on_commit_callbacks
):
    order = booked()
    settings.REFUND_FULL_WINDOW_SECONDS = 0  # past the window: the policy would keep the fee
    with django_capture_on_commit_callbacks(execute=True):
        act(staff, ORDERS, "cancel_booking_fee_waived", [order.pk], apply="yes", reason="goodwill")
    refund = Refund.objects.get(order=order)
    assert (refund.amount, refund.fee) == (Decimal("200.00"), Decimal("0.00"))


def test_a_refusal_is_a_message_not_an_error(staff, booked, django_capture_on_commit_callbacks):
    order = booked()
    with django_capture_on_commit_callbacks(execute=True):
        act(staff, ORDERS, "cancel_booking_by_policy", [order.pk], apply="yes", reason="first")
        again = act(staff, ORDERS, "cancel_booking_by_policy", [order.pk], apply="yes", reason="second")
    assert again.status_code == 200
    assert any("Cannot cancel a booking that is CANCELLED" in m for m in messages_of(again))
    assert Refund.objects.filter(order=order).count() == 1


def test_change_seats_as_staff(staff, booked, django_capture_on_commit_callbacks):
    order = booked()
    form = act(staff, ORDERS, "change_seats", [order.pk])
    assert 'name="seats"' in form.content.decode()
    refused = act(staff, ORDERS, "change_seats", [order.pk], apply="yes", seats="1A 1B", code="")
    assert any("5-digit payment code" in m for m in messages_of(refused))
    with django_capture_on_commit_callbacks(execute=True):
        act(staff, ORDERS, "change_seats", [order.pk], apply="yes", seats="1A 1B", code="54321")
    change = BookingChange.objects.get(order=order)
    assert change.state == ChangeState.DONE and change.seats_after == ["1A", "1B"]
    assert change.actor.startswith("admin:olga@")


def test_change_seats_takes_one_booking_at_a_time(staff, booked):
    first, second = booked(), booked(["5A", "5B"])
    page = act(staff, ORDERS, "change_seats", [first.pk, second.pk])
    assert any("one booking at a time" in m for m in messages_of(page))


def test_retry_a_failed_refund(staff, booked, settings, django_capture_on_commit_callbacks):
    order = booked()
    settings.REFUND_FAILURE_RATE = 1.0
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_booking(order_id=order.pk, actor="test")
    refund = Refund.objects.get(order=order)
    assert refund.state == RefundState.FAILED
    assert refund.credit_note in staff.get(REFUNDS).content.decode()
    settings.REFUND_FAILURE_RATE = 0.0
    with django_capture_on_commit_callbacks(execute=True):
        done = act(staff, REFUNDS, "retry_refund", [refund.pk], apply="yes", reason="the bank is back")
    assert any("handed to the workers again: 1" in m for m in messages_of(done))
    refund.refresh_from_db()
    assert refund.state == RefundState.PAID
    # a paid one is not retried: a message says so
    again = act(staff, REFUNDS, "retry_refund", [refund.pk], apply="yes", reason="again")
    assert any("only a FAILED refund" in m for m in messages_of(again))


def test_the_order_page_shows_its_changes_and_refunds(staff, booked, django_capture_on_commit_callbacks):
    order = booked()
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_booking(order_id=order.pk, actor="test", seats=["4A"])
    html = staff.get(f"{ORDERS}{order.pk}/change/").content.decode()
    assert f"CN-{order.reference}-1" in html
    assert staff.get("/admin/orders/bookingchange/").status_code == 200


def test_ask_the_gateway_about_late_payments(staff, booked):
    order = booked()
    page = act(staff, ORDERS, "check_late_payments", [order.pk])
    assert page.status_code == 200 and any("no late payment" in m for m in messages_of(page))
