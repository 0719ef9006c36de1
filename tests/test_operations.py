"""Operators: the admin (through the test client, as staff), /health and /metrics."""

import datetime as dt
import time

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core.models import Heartbeat
from orders import queue, services, tasks
from orders.models import AuditEntry, Order, OrderState

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client():
    client = Client()
    client.force_login(User.objects.create_user("olga", password="x", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def orders(flight, monkeypatch):
    """A pending order, a held one and one paying (the payment queue is not running here)."""
    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)
    pending, _ = services.create_order(flight_code=flight.code, order_id="o-pending", actor="test")
    held, _ = services.create_order(flight_code=flight.code, order_id="o-held", actor="test")
    services.select_seats(order_id=held.pk, labels=["1A", "1B"], actor="test")
    paying, _ = services.create_order(flight_code=flight.code, order_id="o-paying", actor="test")
    services.select_seats(order_id=paying.pk, labels=["2A"], actor="test")
    services.submit_payment(order_id=paying.pk, code="12345", actor="test")
    return {"pending": pending.pk, "held": held.pk, "paying": paying.pk}


def test_the_order_list_searches_and_filters(staff_client, orders):
    page = staff_client.get("/admin/orders/order/").content.decode()
    assert all(order_id in page for order_id in orders.values())
    assert "o-held" in staff_client.get("/admin/orders/order/?q=held").content.decode()
    assert "o-pending" not in staff_client.get("/admin/orders/order/?q=held").content.decode()
    by_state = staff_client.get("/admin/orders/order/?state__exact=PROCESSING_PAYMENT").content.decode()
    assert "o-paying" in by_state and "o-held" not in by_state
    soon = staff_client.get("/admin/orders/order/?hold_ends_within=15").content.decode()
    assert "o-held" in soon and "o-paying" not in soon and "o-pending" not in soon
    assert "o-held" not in staff_client.get("/admin/orders/order/?hold_ends_within=1").content.decode()


def test_an_order_shows_its_holds_attempts_and_audit_trail_read_only(staff_client, orders):
    page = staff_client.get(f"/admin/orders/order/{orders['paying']}/change/").content.decode()
    assert "2A" in page and "submit_payment" in page and "audit trail" in page.lower()
    assert 'name="_save"' not in page  # nothing to save by hand
    before = Order.objects.get(pk=orders["held"]).state
    staff_client.post(f"/admin/orders/order/{orders['held']}/change/", {"state": "CONFIRMED"})
    assert Order.objects.get(pk=orders["held"]).state == before


@pytest.mark.parametrize(
    ("action", "order", "state", "audit_action"),
    [
        ("expire_now", "held", OrderState.EXPIRED, "expire"),
        ("cancel_and_release", "pending", OrderState.CANCELLED, "cancel"),
        ("retry_payment", "paying", OrderState.PROCESSING_PAYMENT, "retry_payment"),
    ],
)
def test_each_action_goes_through_the_service_and_names_the_operator(
    staff_client, orders, action, order, state, audit_action
):
    response = staff_client.post(
        "/admin/orders/order/", {"action": action, "_selected_action": [orders[order]]}, follow=True
    )
    assert response.status_code == 200
    assert Order.objects.get(pk=orders[order]).state == state
    entry = AuditEntry.objects.filter(order_id=orders[order], action=audit_action).latest("id")
    assert entry.actor == "admin:olga@127.0.0.1"


def test_an_action_the_state_machine_refuses_is_reported_and_changes_nothing(staff_client, orders):
    response = staff_client.post(
        "/admin/orders/order/", {"action": "expire_now", "_selected_action": [orders["pending"]]}, follow=True
    )
    assert "Cannot expire" in response.content.decode()
    assert Order.objects.get(pk=orders["pending"]).state == OrderState.PENDING


def test_flights_show_seat_counts_and_a_read_only_map(staff_client, orders, flight):
    listing = staff_client.get("/admin/flights/flight/").content.decode()
    assert "FL-001" in listing
    page = staff_client.get(f"/admin/flights/flight/{flight.pk}/change/").content.decode()
    assert "seat map" in page.lower() and " 1 H H" in page and " 2 H" in page


def test_the_admin_refuses_non_staff(orders):
    client = Client()
    client.force_login(User.objects.create_user("traveller", password="x"))
    response = client.get("/admin/orders/order/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    response = client.post("/admin/orders/order/", {"action": "expire_now", "_selected_action": [orders["held"]]})
    assert Order.objects.get(pk=orders["held"]).state == OrderState.SEATS_SELECTED


def test_health_is_ok_with_fresh_heartbeats_and_names_what_is_down(client, transactional_db, settings):
    # transactional: /health reads the heartbeats on a connection of its own (core/health.py, DatabaseProbe)
    settings.HEALTH_WORKER_MAX_AGE_SECONDS = 30
    now = timezone.now()
    Heartbeat.objects.create(name="timers", beat_at=now)
    Heartbeat.objects.create(name="worker", beat_at=now)
    response = client.get("/health", HTTP_HOST="127.0.0.1")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    Heartbeat.objects.filter(name="worker").update(beat_at=timezone.now() - dt.timedelta(minutes=5))
    response = client.get("/health", HTTP_HOST="127.0.0.1")
    assert response.status_code == 503
    assert response.json()["down"] == ["worker"] and "300 s ago" in response.json()["checks"]["worker"]


def test_health_answers_within_2_s_when_the_database_and_redis_are_both_slow(
    client, transactional_db, settings, monkeypatch
):
    from core import health

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # a Redis to ping; the ping is replaced below

    def slow_database():
        time.sleep(1.4)  # just within the database check's bound
        return {}

    def slow_redis():
        time.sleep(1.0)  # a Redis that takes its socket timeouts to fail
        return False

    monkeypatch.setattr(health, "read_beats", slow_database)
    monkeypatch.setattr(health, "ping_redis", slow_redis)
    started = time.monotonic()
    response = client.get("/health", HTTP_HOST="127.0.0.1")
    took = time.monotonic() - started
    assert response.json()["checks"]["database"] == "ok" and response.json()["degraded"][0] == "redis"
    assert took < 1.8, f"/health took {took:.2f} s: the checks ran one after the other"


def metric(name: str, labels: dict | None = None) -> float:
    from django.test import override_settings

    from orders.metrics import refresh_snapshot

    refresh_snapshot()  # what the timer loop does every METRICS_REFRESH_SECONDS
    with override_settings(METRICS_TOKEN="scrape-token"):
        text = (
            Client().get("/metrics", HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION="Bearer scrape-token").content.decode()
        )
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in (labels or {}).items()):
                return sample.value
    return 0.0


def test_metrics_move_with_a_hold_a_payment_and_an_expiry(flight, settings, monkeypatch):
    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)
    settings.PAYMENT_FAILURE_RATE, settings.PAYMENT_LATENCY_SECONDS = 0, 0.01
    created_before = metric("seatbooking_seat_holds_created_total")
    paying, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=paying.pk, labels=["1A"], actor="test")
    assert metric("seatbooking_seat_holds_created_total") == created_before + 1
    assert metric("seatbooking_seat_holds_live") == 1
    services.submit_payment(order_id=paying.pk, code="12345", actor="test")
    tasks.process_payment(paying.pk)
    assert metric("seatbooking_payment_attempts_total", {"outcome": "success"}) == 1
    assert metric("seatbooking_orders", {"state": "CONFIRMED"}) == 1
    lapsing, _ = services.create_order(flight_code=flight.code, actor="test")
    lapsing = services.select_seats(order_id=lapsing.pk, labels=["2A"], actor="test").order
    assert lapsing.hold_expires_at is not None
    services.expire_lapsed_holds(now=lapsing.hold_expires_at + dt.timedelta(seconds=0.3))
    assert metric("seatbooking_expiry_lateness_seconds_count") == 1
    assert metric("seatbooking_expiry_lateness_seconds_bucket", {"le": "0.25"}) == 0
    assert metric("seatbooking_expiry_lateness_seconds_bucket", {"le": "0.5"}) == 1
    assert metric("seatbooking_seat_holds_ended_total", {"how": "expired"}) == 1
    assert metric("seatbooking_seat_holds_ended_total", {"how": "confirmed"}) == 1
    assert metric("seatbooking_http_request_duration_seconds_count", {"route": "metrics"}) >= 1


def test_json_logs_carry_the_order_flight_and_transition(flight, settings, capsys, django_capture_on_commit_callbacks):
    import json
    import logging.config

    logging.config.dictConfig(
        {
            **settings.LOGGING,
            "handlers": {
                "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
            },
        }
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):  # the line is written once the change commits
            order, _ = services.create_order(flight_code=flight.code, actor="test")
            services.select_seats(order_id=order.pk, labels=["4C"], actor="test")
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    finally:
        logging.config.dictConfig(settings.LOGGING)
    change = next(line for line in lines if line.get("action") == "select_seats")
    assert change["order_id"] == order.pk and change["flight"] == "FL-001"
    assert change["transition"] == "PENDING->SEATS_SELECTED" and change["level"] == "INFO"


@pytest.mark.parametrize("path", ["/flights", "/flights/FL-001", "/flights/FL-001/available-seats", "/orders"])
def test_the_api_is_browsable(client, flight, path):
    response = client.get(path, HTTP_ACCEPT="text/html", HTTP_HOST="127.0.0.1")
    assert response["Content-Type"].startswith("text/html")
    assert b"Django REST framework" in response.content or b"browsable" in response.content.lower()
