"""/metrics is closed unless configured, and a scrape costs the same whatever the table sizes."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from orders import services

pytestmark = pytest.mark.django_db


def scrape(**extra):
    return Client().get("/metrics", HTTP_HOST="127.0.0.1", **extra)


def test_metrics_are_closed_by_default_and_say_how_to_open_them(settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_ADDRESSES = "", ""
    response = scrape()
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "metrics_closed"
    assert "METRICS_TOKEN" in body["error"] and "METRICS_ALLOWED_ADDRESSES" in body["error"]


def test_metrics_open_with_the_token(settings):
    settings.METRICS_TOKEN = "a-long-scrape-token"
    assert scrape(HTTP_AUTHORIZATION="Bearer a-long-scrape-token").status_code == 200
    assert scrape(HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert scrape().status_code == 403


def test_metrics_open_to_an_allowed_address_as_worked_out_from_trusted_proxies(settings):
    settings.METRICS_ALLOWED_ADDRESSES = "10.1.0.0/16, 192.0.2.5"
    assert scrape(REMOTE_ADDR="10.1.2.3").status_code == 200
    assert scrape(REMOTE_ADDR="192.0.2.5").status_code == 200
    assert scrape(REMOTE_ADDR="10.2.0.1").status_code == 403
    # A forwarded address counts only from a trusted proxy.
    assert scrape(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 403
    settings.TRUSTED_PROXIES = "198.51.100.7"
    assert scrape(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 200


def captured_scrape(settings) -> list[str]:
    from orders.metrics import refresh_snapshot

    refresh_snapshot()  # what the timer loop does every METRICS_REFRESH_SECONDS
    settings.METRICS_TOKEN = "a-long-scrape-token"
    with CaptureQueriesContext(connection) as queries:
        assert scrape(HTTP_AUTHORIZATION="Bearer a-long-scrape-token").status_code == 200
    return [q["sql"] for q in queries.captured_queries]


def test_a_scrape_costs_the_same_whatever_the_number_of_orders(flight, settings, monkeypatch):
    from orders import queue

    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)
    empty = captured_scrape(settings)
    for i in range(200):
        order, _ = services.create_order(flight_code=flight.code, actor="test")
        if i < 30:
            services.select_seats(order_id=order.pk, labels=[f"{i // 6 + 1}{'ABCDEF'[i % 6]}"], actor="test")
    full = captured_scrape(settings)
    assert len(full) == len(empty) <= 2, full
    for sql in full:
        for table in ("orders_order", "orders_seathold", "orders_auditentry", "orders_paymentattempt"):
            assert table not in sql, sql


def test_the_timer_loop_refreshes_the_figures(transactional_db, flight, settings):
    from django.db import close_old_connections

    from orders import timers
    from tests.processes import wait_until

    settings.METRICS_REFRESH_SECONDS, settings.METRICS_TOKEN = 0.2, "a-long-scrape-token"
    services.create_order(flight_code=flight.code, actor="test")
    stop = threading.Event()

    def loop():
        try:
            timers.run(stop)
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        wait_until(
            lambda: (
                "seatbooking_metrics_snapshot_age_seconds"
                in scrape(HTTP_AUTHORIZATION="Bearer a-long-scrape-token").content.decode()
            ),
            timeout=5,
            what="a first snapshot",
        )
        wait_until(
            lambda: (
                'seatbooking_orders{state="PENDING"} 1.0'
                in scrape(HTTP_AUTHORIZATION="Bearer a-long-scrape-token").content.decode()
            ),
            timeout=5,
            what="a fresh snapshot",
        )
        services.create_order(flight_code=flight.code, actor="test")
        wait_until(
            lambda: (
                'seatbooking_orders{state="PENDING"} 2.0'
                in scrape(HTTP_AUTHORIZATION="Bearer a-long-scrape-token").content.decode()
            ),
            timeout=5,
            what="the next snapshot",
        )
    finally:
        stop.set()
        thread.join()
