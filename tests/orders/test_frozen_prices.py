"""The prices a traveller saw when holding are the ones charged, and the
receipt and email show the prices the total was made of, whatever the fares became since."""

# ruff: noqa: F811 - fixtures imported from the issue's test modules are the tests' parameters

from decimal import Decimal

import pytest
from django.core import mail

from orders.models import Order
from orders.receipt import receipt_of
from tests.conftest import bearer
from tests.orders.test_booking_api import ADA, CHARLES, enqueued, gateway, pay, post  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db
DOROTHY = {"seat": "1C", "firstName": "Dorothy", "lastName": "Vaughan"}


@pytest.fixture
def fare_89(flight):
    flight.base_fare, flight.currency = Decimal("89.00"), "EUR"
    flight.save()
    return flight


def reprice(flight, fare: str, currency: str) -> None:
    flight.base_fare, flight.currency = Decimal(fare), currency
    flight.save()


def test_receipt_and_email_show_the_prices_paid_after_the_fares_change(
    api, fare_89, new_order, gateway, enqueued, django_capture_on_commit_callbacks
):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A", "1B", "1C"]}, token)
    body = {"passengers": [ADA, CHARLES, DOROTHY], "email": "ada@example.com"}
    assert post(api, f"/orders/{order_id}/passengers", body, token).status_code == 200
    callbacks = pay(api, order_id, token, django_capture_on_commit_callbacks)
    assert callbacks  # the email task was asked for
    reprice(fare_89, "99.00", "USD")
    receipt = receipt_of(Order.objects.select_related("flight").get(pk=order_id))
    assert [(line.price, line.zone) for line in receipt.lines] == [("89.00", "Standard")] * 3
    assert (receipt.total, receipt.currency) == ("267.00", "EUR")
    from orders import tasks

    assert tasks.send_confirmation_email(order_id) == "sent"
    [email] = mail.outbox
    assert "89.00 EUR" in str(email.body) and "99.00" not in str(email.body) and "USD" not in str(email.body)
    page = api.get(f"/booking/{order_id}/receipt", **bearer(token)).content.decode()
    assert "89.00 EUR" in page and "99.00" not in page


def test_a_fare_raised_during_the_hold_is_not_charged(
    api, fare_89, new_order, gateway, enqueued, django_capture_on_commit_callbacks
):
    order_id, token = new_order()
    held = post(api, f"/orders/{order_id}/seats", {"seats": ["2A", "2B"]}, token).json()
    assert (held["Total"], held["Currency"]) == ("178.00", "EUR")
    reprice(fare_89, "120.00", "EUR")
    assert api.get(f"/orders/{order_id}/status", **bearer(token)).json()["Total"] == "178.00"
    # a seat added later is priced as the map shows it then; the seat kept keeps its price
    changed = post(api, f"/orders/{order_id}/seats", {"seats": ["2A", "3A"]}, token).json()
    assert changed["Total"] == "209.00"
    pay(api, order_id, token, django_capture_on_commit_callbacks)
    assert [(c["amount"], c["currency"]) for c in gateway] == [(Decimal("209.00"), "EUR")]


def test_a_currency_changed_during_the_hold_keeps_the_currency_seen(
    api, fare_89, new_order, gateway, enqueued, django_capture_on_commit_callbacks
):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["2A"]}, token)
    reprice(fare_89, "95.00", "USD")
    pay(api, order_id, token, django_capture_on_commit_callbacks)
    assert [(c["amount"], c["currency"]) for c in gateway] == [(Decimal("89.00"), "EUR")]


def test_the_receipt_says_only_what_became_of_the_email(
    api, fare_89, new_order, gateway, enqueued, django_capture_on_commit_callbacks
):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A"]}, token)
    post(api, f"/orders/{order_id}/passengers", {"passengers": [ADA], "email": "ada@example.com"}, token)
    assert "ada@example.com" not in api.get(f"/booking/{order_id}/receipt", **bearer(token)).content.decode()
    pay(api, order_id, token, django_capture_on_commit_callbacks)
    page = api.get(f"/booking/{order_id}/receipt", **bearer(token)).content.decode()
    assert "on its way to ada@example.com" in page and "Confirmation sent" not in page
    from orders import tasks

    tasks.send_confirmation_email(order_id)
    assert (
        "Confirmation sent to ada@example.com"
        in api.get(f"/booking/{order_id}/receipt", **bearer(token)).content.decode()
    )
