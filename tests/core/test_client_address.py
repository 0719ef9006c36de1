"""Abuse limits, with small settings: 429 with Retry-After once a client passes the rate."""

import pytest
from django.core.cache import cache

from tests.conftest import bearer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_limits(settings):
    cache.clear()
    settings.THROTTLE_RATES = {"create_order": "3/min", "change_seats": "2/min", "payment": "1/min"}
    yield
    cache.clear()


def test_creating_orders_is_limited(api, flight):
    for _ in range(3):
        assert api.post("/orders", {"flightID": "FL-001"}, format="json").status_code == 201
    refused = api.post("/orders", {"flightID": "FL-001"}, format="json")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["code"] == "throttled" and "try again in" in refused.json()["error"]


def test_seat_changes_and_payments_are_limited(api, flight, monkeypatch):
    from orders import queue

    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)
    created = api.post("/orders", {"flightID": "FL-001"}, format="json").json()
    seats = f"/orders/{created['orderID']}/seats"
    assert api.post(seats, {"seats": ["1A"]}, format="json", **bearer(created["token"])).status_code == 200
    assert api.post(seats, {"seats": ["1B"]}, format="json", **bearer(created["token"])).status_code == 200
    assert api.post(seats, {"seats": ["1C"]}, format="json", **bearer(created["token"])).status_code == 429
    pay = f"/orders/{created['orderID']}/payment"
    assert api.post(pay, {"code": "1"}, format="json", **bearer(created["token"])).status_code == 400
    assert api.post(pay, {"code": "12345"}, format="json", **bearer(created["token"])).status_code == 429
    assert api.get(f"/orders/{created['orderID']}/status", **bearer(created["token"])).json()["Seats"] == ["1B"]


def test_a_limit_can_be_switched_off(api, flight, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "create_order": "off"}
    assert all(api.post("/orders", {"flightID": "FL-001"}, format="json").status_code == 201 for _ in range(5))


# --- The client's address: X-Forwarded-For counts only from a trusted proxy -------------


def create(api, **meta):
    return api.post("/orders", {"flightID": "FL-001"}, format="json", **meta).status_code


def test_a_spoofed_forwarded_for_does_not_change_the_throttle_key(api, flight):
    codes = [create(api, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}") for i in range(5)]
    assert codes == [201, 201, 201, 429, 429]


def test_a_spoofed_address_cannot_lock_out_the_client_it_names(api, flight):
    for _ in range(4):  # someone at 198.51.100.7 claims to be 192.0.2.10
        create(api, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="192.0.2.10")
    assert create(api, REMOTE_ADDR="192.0.2.10") == 201


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(api, flight, settings):
    settings.TRUSTED_PROXIES = "10.0.0.0/8, 127.0.0.1"
    behind_proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for client in ("203.0.113.1", "203.0.113.2"):  # two clients behind one proxy: each has its own count
        assert [create(api, **behind_proxy, HTTP_X_FORWARDED_FOR=client) for _ in range(3)] == [201] * 3
    assert create(api, **behind_proxy, HTTP_X_FORWARDED_FOR="203.0.113.1") == 429
    # What the client wrote itself (left of the address the proxy saw) does not count ...
    assert create(api, **behind_proxy, HTTP_X_FORWARDED_FOR="198.51.100.50, 203.0.113.1") == 429
    # ... and a chain of trusted proxies is walked back to the first untrusted hop.
    assert create(api, **behind_proxy, HTTP_X_FORWARDED_FOR="198.51.100.50, 203.0.113.1, 10.9.9.9") == 429
    assert create(api, **behind_proxy, HTTP_X_FORWARDED_FOR="203.0.113.3, 127.0.0.1") == 201


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("198.51.100.7", "203.0.113.1", "", "198.51.100.7"),  # no trusted proxies: the socket's address
        ("198.51.100.7", "203.0.113.1", "10.0.0.0/8", "198.51.100.7"),  # an untrusted peer's header is ignored
        ("10.0.0.2", "203.0.113.1", "10.0.0.0/8", "203.0.113.1"),
        ("10.0.0.2", "1.1.1.1, 203.0.113.1, 10.0.0.9", "10.0.0.0/8", "203.0.113.1"),
        ("10.0.0.2", None, "10.0.0.0/8", "10.0.0.2"),  # a trusted proxy that sent no header
        ("10.0.0.2", "10.0.0.5, 10.0.0.9", "10.0.0.0/8", "10.0.0.5"),  # trusted all the way: the farthest hop
        ("10.0.0.2", "not-an-address, 10.0.0.9", "10.0.0.0/8", "10.0.0.9"),  # garbage stops the walk
        ("10.0.0.2", "203.0.113.1:5555", "10.0.0.2", "203.0.113.1"),  # a port is dropped
        ("::1", "2001:db8::7", "::1", "2001:db8::7"),
        ("::1", "[2001:db8::7]:443", "::1/128", "2001:db8::7"),
    ],
)
def test_the_client_address_is_worked_out_from_trusted_hops_only(peer, forwarded, trusted, client):
    from core.client_address import client_address, parse_networks

    assert client_address(peer, forwarded, parse_networks(trusted)) == client


def test_the_audit_trail_and_the_log_record_the_client_address(
    api, flight, settings, caplog, django_capture_on_commit_callbacks
):
    from orders.models import AuditEntry

    settings.TRUSTED_PROXIES = "10.0.0.2"
    with django_capture_on_commit_callbacks(execute=True), caplog.at_level("INFO", logger="orders.services"):
        created = api.post("/orders", {"flightID": "FL-001"}, format="json", REMOTE_ADDR="203.0.113.9").json()
    assert [r.actor for r in caplog.records if getattr(r, "action", None) == "create"] == ["api@203.0.113.9"]
    assert AuditEntry.objects.get(order_id=created["orderID"], action="create").actor == "api@203.0.113.9"
    response = api.post(
        f"/orders/{created['orderID']}/seats",
        {"seats": ["1A"]},
        format="json",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.10",
        **bearer(created["token"]),
    )
    assert response.status_code == 200
    assert AuditEntry.objects.get(order_id=created["orderID"], action="select_seats").actor == "token@203.0.113.10"
