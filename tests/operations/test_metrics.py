"""The metrics the alert rules need (deploy/prometheus/alerts.yml): heartbeats, 5xx, saturation."""

import asyncio

import pytest
from django.test import Client

from core import health, metrics
from core.admission import Admission

pytestmark = pytest.mark.django_db


def scrape(settings) -> str:
    settings.METRICS_TOKEN = "a-long-scrape-token"
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer a-long-scrape-token")
    assert response.status_code == 200
    return response.content.decode()


def test_heartbeat_ages(settings):
    text = scrape(settings)
    assert 'seatbooking_heartbeat_age_seconds{process="timers"} +Inf' in text  # never reported
    health.beat("timers")
    health.beat("worker")
    text = scrape(settings)
    for name in ("timers", "worker"):
        line = next(
            x for x in text.splitlines() if x.startswith(f'seatbooking_heartbeat_age_seconds{{process="{name}"}}')
        )
        assert 0 <= float(line.split()[-1]) < 5


def test_a_server_error_is_counted_by_status(settings, monkeypatch, flight):
    from inventory import api

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(api.FlightListView, "get", broken)
    assert Client(raise_request_exception=False).get("/flights").status_code == 500
    assert 'seatbooking_http_request_duration_seconds_count{method="GET",route="flights",status="500"} 1.0' in scrape(
        settings
    )


@pytest.fixture
def gauges_restored(monkeypatch):
    """An Admission binds the module-wide slot gauges to itself: put them back after the test, so that later
    tests do not read this test's slots."""
    for gauge in (metrics.WEB_SLOTS, metrics.WEB_IN_FLIGHT, metrics.WEB_WAITING):
        monkeypatch.setattr(gauge, "_child_samples", gauge._child_samples)


def test_busy_refusals_and_slots_are_counted(settings, gauges_restored):
    release = asyncio.Event()

    async def app(scope, receive, send):
        await release.wait()

    def gauges() -> dict[str, float]:  # read in the event loop, without the database collectors
        return {g._name: next(iter(g.collect())).samples[0].value for g in (metrics.WEB_SLOTS, metrics.WEB_IN_FLIGHT)}

    async def refused_after_one_in_flight(door: Admission) -> tuple[dict, dict]:
        first = asyncio.create_task(door({"type": "http"}, None, lambda m: asyncio.sleep(0)))
        await asyncio.sleep(0.01)
        during = gauges()  # one running in the only slot
        sent = []

        async def send(message):
            sent.append(message)

        await door({"type": "http"}, None, send)  # no slot within 0 s: 503
        release.set()
        await first
        assert sent[0]["status"] == 503
        return during, gauges()

    before = refusals(scrape(settings))
    during, after = asyncio.run(refused_after_one_in_flight(Admission(app, 1, 0)))
    assert during == {"seatbooking_web_request_slots": 1, "seatbooking_web_requests_in_flight": 1}
    assert after["seatbooking_web_requests_in_flight"] == 0
    assert refusals(scrape(settings)) == before + 1


def test_a_request_that_queued_too_long_behind_nginx_is_counted_as_a_busy_refusal(settings):
    """The WSGI side of WebSaturated (core/queue_wait.py): nginx says when the request came."""
    import time

    settings.TRUSTED_PROXIES, settings.WEB_MAX_WAIT_SECONDS = "127.0.0.1", 1
    before = refusals(scrape(settings))
    response = Client(REMOTE_ADDR="127.0.0.1").get("/flights", HTTP_X_REQUEST_START=f"t={time.time() - 5:.3f}")
    assert response.status_code == 503
    assert refusals(scrape(settings)) == before + 1


def test_event_delivery_degraded_is_1_while_redis_is_lost(settings, monkeypatch):
    from core.events.delivery import DELIVERY

    for name in ("mode", "since", "detail"):
        monkeypatch.setattr(DELIVERY, name, getattr(DELIVERY, name))
    try:
        DELIVERY._set_mode("table: redis down", "connection refused")
        assert "seatbooking_event_delivery_degraded 1.0" in scrape(settings)
        DELIVERY._set_mode("redis")
        assert "seatbooking_event_delivery_degraded 0.0" in scrape(settings)
    finally:
        DELIVERY._set_mode("stopped")


def refusals(text: str) -> float:
    return float(next(x for x in text.splitlines() if x.startswith("seatbooking_web_busy_refusals_total ")).split()[-1])


def test_without_a_pool_the_pool_metrics_are_declared_empty(settings):
    text = scrape(settings)
    assert "# TYPE seatbooking_db_pool_connections gauge" in text
    assert not [line for line in text.splitlines() if line.startswith("seatbooking_db_pool_connections{")]


def test_seats_per_flight_come_with_the_snapshot(settings, flight, monkeypatch):
    from orders import queue
    from orders.metrics import refresh_snapshot
    from tests.operations.burst import run_burst

    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)
    run_burst(flight.code)
    refresh_snapshot()
    text = scrape(settings)
    for state, n in (("available", 21), ("held", 6), ("booked", 3)):
        assert f'seatbooking_flight_seats{{flight="FL-001",state="{state}"}} {n}.0' in text


@pytest.mark.postgres_only
def test_a_web_process_reports_its_pool_and_slots(transactional_db, tmp_path, settings):
    """The real web process (uvicorn, the pool on, as make run starts it on PostgreSQL)."""
    import urllib.request

    from tests.http import free_port, wait_for_server
    from tests.processes import Processes

    processes = Processes(tmp_path)
    processes.configure(settings, METRICS_TOKEN="a-long-scrape-token", DB_POOL_MAX_SIZE=6, REDIS_URL="")
    port = free_port()
    processes.start_web(port)
    try:
        wait_for_server(f"http://127.0.0.1:{port}")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/metrics", headers={"Authorization": "Bearer a-long-scrape-token"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
    finally:
        processes.kill_all()
    assert 'seatbooking_db_pool_connections{state="max"} 6.0' in text
    assert "seatbooking_db_pool_waiting 0.0" in text
    assert "seatbooking_web_request_slots 4.0" in text  # WEB_THREADS: the pool less two
    in_flight = next(x for x in text.splitlines() if x.startswith("seatbooking_web_requests_in_flight "))
    assert float(in_flight.split()[-1]) >= 1  # this scrape, at least
