"""Find-my-booking tokens can be revoked by an
operator and survive a key rotation; the session is cycled when find my booking opens a booking; the
pages with names and email are not cached."""

# ruff: noqa: F811 - fixtures imported from the issue's test modules are the tests' parameters

import pytest
from django.contrib.auth.models import User
from django.test import Client

from orders.access import booking_token
from orders.models import AuditEntry, Order
from tests.conftest import bearer
from tests.orders.test_booking_pages import confirmed  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def found_token(confirmed_order: Order) -> str:
    answer = Client().post(
        "/bookings/find",
        {"reference": confirmed_order.reference, "lastName": "Lovelace"},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    return answer.json()["token"]


def test_an_operator_revokes_the_booking_links(confirmed, api):
    token = found_token(confirmed)
    assert api.get(f"/orders/{confirmed.pk}/status", **bearer(token)).status_code == 200
    staff = Client()
    staff.force_login(User.objects.create_user("olga", password="x", is_staff=True, is_superuser=True))
    done = staff.post(
        "/admin/orders/order/",
        {"action": "revoke_booking_links", "_selected_action": [confirmed.pk]},
        follow=True,
    )
    assert "Booking links revoked: 1 order(s)." in done.content.decode()
    assert api.get(f"/orders/{confirmed.pk}/status", **bearer(token)).status_code == 403
    assert AuditEntry.objects.filter(order_id=confirmed.pk, action="revoke_links").count() == 1
    fresh = found_token(confirmed)  # finding the booking again gives a new link that works
    assert fresh != token and api.get(f"/orders/{confirmed.pk}/status", **bearer(fresh)).status_code == 200


def test_a_booking_link_is_no_plain_hmac_of_the_secret_key(confirmed):
    import hashlib
    import hmac

    from django.conf import settings

    old = (
        "b-"
        + hmac.new(
            settings.SECRET_KEY.encode(), f"booking:{confirmed.pk}:{confirmed.reference}".encode(), hashlib.sha256
        ).hexdigest()
    )
    assert found_token(confirmed) != old


def test_a_booking_link_survives_a_key_rotation(confirmed, api, settings):
    token = found_token(confirmed)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "x" * 50
    assert api.get(f"/orders/{confirmed.pk}/status", **bearer(token)).status_code == 200
    assert token != booking_token(confirmed.pk, confirmed.reference, confirmed.booking_link_version)


def test_find_my_booking_cycles_the_session_key(confirmed):
    browser = Client()
    browser.get("/find-booking")
    browser.session.save()
    before = browser.session.session_key
    found = browser.post("/find-booking", {"reference": confirmed.reference, "last_name": "Lovelace"})
    assert found.status_code == 302
    assert browser.session.session_key != before
    assert browser.get(f"/booking/{confirmed.pk}").status_code == 200


def test_the_receipt_and_find_pages_are_not_cached(confirmed):
    browser = Client()
    found = browser.post("/find-booking", {"reference": confirmed.reference, "last_name": "Lovelace"})
    assert "no-store" in found.get("Cache-Control", "")
    assert "no-store" in browser.get("/find-booking").get("Cache-Control", "")
    assert "no-store" in browser.get(f"/booking/{confirmed.pk}/receipt").get("Cache-Control", "")
