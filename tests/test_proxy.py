"""The deployed layout through the real nginx with the repo's config (deploy/nginx.conf): nginx in front of
granian (request/response, WSGI; deploy/granian.py) and uvicorn (event streams), as Procfile.cluster runs them.

Needs Debian's nginx: in CI (CI=true) a missing nginx fails the test, elsewhere it skips with the reason.
"""

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy import nginx
from flights.services import create_flight
from orders.models import AuditEntry
from tests.conftest import IN_CI
from tests.http import SSEStream, call, free_port, wait_for_server
from tests.processes import Processes, wait_until

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

CLIENT = "127.0.0.2"  # the test's own address: not nginx's (127.0.0.1), so the two cannot be confused
SPOOFED = "203.0.113.9"


def require_nginx() -> None:
    if nginx.binary() is None:
        message = "needs nginx: apt-get install nginx-light (.ci/run installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def layout(transactional_db, tmp_path, settings):
    """nginx on one port in front of granian (2 WSGI workers) and uvicorn; returns the ports."""
    from django.utils import timezone

    require_nginx()
    create_flight(code="FL-001", origin="A", destination="B", departs_at=timezone.now(), rows=5, letters="ABCDEF")
    processes = Processes(tmp_path)
    ports = {"WEB_PORT": free_port(), "APP_PORT": free_port(), "STREAMS_PORT": free_port()}
    processes.configure(settings, TRUSTED_PROXIES="127.0.0.1", REDIS_URL="redis://127.0.0.1:6379/0")
    processes.env.update({name: str(port) for name, port in ports.items()})
    processes.env.update(WEB_WORKERS="2", NGINX_DIR=str(tmp_path / "nginx"), WEB_METRICS_DIR=str(tmp_path / "metrics"))
    processes.start_argv("web", [sys.executable, "-m", "deploy.granian"])
    processes.start_web(ports["STREAMS_PORT"])
    processes.start_argv("nginx", [sys.executable, "-m", "deploy.nginx"])
    for name in ("APP_PORT", "STREAMS_PORT", "WEB_PORT"):
        wait_for_server(f"http://127.0.0.1:{ports[name]}", timeout=30)
    yield ports
    processes.kill_all()
    print(processes.logs())


def send(port: int, method: str, path: str, body: bytes = b"", headers: dict | None = None, source: str = CLIENT):
    """One request from `source` (an address of this machine); returns (status, headers, parsed JSON or text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        raw = response.read()
        content = json.loads(raw) if response.getheader("Content-Type", "").startswith("application/json") else raw
        return response.status, response, content
    finally:
        conn.close()


def new_order(port: int, **headers: str) -> dict:
    status, _, body = send(port, "POST", "/orders", json.dumps({"flightID": "FL-001"}).encode(), headers)
    assert status == 201, body
    return body


def test_a_seat_change_works_end_to_end_through_nginx(layout):
    port = layout["WEB_PORT"]
    order = new_order(port)
    auth = {"Authorization": f"Bearer {order['token']}"}
    path = f"/orders/{order['orderID']}"
    status, response, body = send(port, "POST", f"{path}/seats", json.dumps({"seats": ["1A", "1B"]}).encode(), auth)
    assert status == 200, body
    assert response.getheader("Server") == "nginx"
    status, _, body = send(port, "GET", f"{path}/status", headers=auth)
    assert status == 200 and sorted(body["Seats"]) == ["1A", "1B"], body


def test_an_event_arrives_through_nginx_at_once_not_buffered(layout):
    base = f"http://127.0.0.1:{layout['WEB_PORT']}"
    stream = SSEStream(base, "/flights/FL-001/events")
    assert stream.status == 200 and stream.content_type.startswith("text/event-stream")
    assert stream.next(timeout=5).type == "availability"  # a few hundred bytes: buffered, it would not come
    order = call(base, "POST", "/orders", {"flightID": "FL-001"})[1]
    sent = time.monotonic()
    status, _ = call(base, "POST", f"/orders/{order['orderID']}/seats", {"seats": ["2C"]}, order["token"])
    assert status == 200
    event = stream.next_matching(lambda e: e.type == "seats", timeout=5)
    assert event.received_at - sent < 1.0, f"the event took {event.received_at - sent:.2f} s through nginx"
    order_stream = SSEStream(base, f"/orders/{order['orderID']}/events?token={order['token']}")
    assert order_stream.next(timeout=5).data["OrderID"] == order["orderID"]
    stream.close()
    order_stream.close()


def test_the_app_records_the_address_nginx_saw_and_a_spoofed_header_does_not_win(layout):
    order = new_order(layout["WEB_PORT"], **{"X-Forwarded-For": SPOOFED})
    auth = {"Authorization": f"Bearer {order['token']}", "X-Forwarded-For": f"{SPOOFED}, 10.1.2.3"}
    status, _, body = send(
        layout["WEB_PORT"], "POST", f"/orders/{order['orderID']}/seats", json.dumps({"seats": ["3A"]}).encode(), auth
    )
    assert status == 200, body
    actors = set(AuditEntry.objects.filter(order_id=order["orderID"]).values_list("actor", flat=True))
    assert actors and all(actor.endswith(f"@{CLIENT}") for actor in actors), actors


def test_a_body_over_the_limit_gets_413_from_nginx_and_one_under_it_reaches_the_app(layout, settings):
    limit = settings.MAX_REQUEST_BODY_BYTES
    order = new_order(layout["WEB_PORT"])
    path = f"/orders/{order['orderID']}/seats"
    auth = {"Authorization": f"Bearer {order['token']}"}
    status, response, body = send(layout["WEB_PORT"], "POST", path, b"x" * (limit + 1), auth)
    assert status == 413 and response.getheader("Server") == "nginx"
    assert body["code"] == "body_too_large" and str(limit) in body["error"]
    padded = json.dumps({"seats": ["4A"], "pad": " " * (limit - 100)}).encode()
    assert len(padded) <= limit
    status, _, body = send(layout["WEB_PORT"], "POST", path, padded, auth)
    assert status == 400 and body["code"] == "invalid", body  # the app's answer (an unknown field), not nginx's


def test_a_request_that_waited_too_long_for_a_worker_gets_503_and_nginx_sets_the_start_itself(layout, settings):
    # Straight to granian from nginx's address, as if nginx had taken it 10 s ago: refused, nothing done.
    ago = {"X-Request-Start": f"t={time.time() - 10:.3f}"}
    status, response, body = send(layout["APP_PORT"], "GET", "/flights", headers=ago, source="127.0.0.1")
    assert status == 503 and response.getheader("Retry-After") == "1" and body["code"] == "busy", body
    assert send(layout["APP_PORT"], "GET", "/flights", headers={"X-Request-Start": f"t={time.time():.3f}"})[0] == 200
    # From an address that is not a trusted proxy the header means nothing.
    assert send(layout["APP_PORT"], "GET", "/flights", headers=ago, source=CLIENT)[0] == 200
    # Through nginx: whatever the client wrote, nginx's own time is what counts.
    assert send(layout["WEB_PORT"], "GET", "/flights", headers=ago)[0] == 200


def test_nginx_stops_gracefully_and_leaves_nothing_behind(layout, tmp_path):
    pid_file = tmp_path / "nginx" / "nginx.pid"
    master = int(wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), timeout=5, what="pid"))
    stream = SSEStream(f"http://127.0.0.1:{layout['WEB_PORT']}", "/flights/FL-001/events")
    stream.next(timeout=5)
    wrapper = int(Path(f"/proc/{master}/stat").read_text().rsplit(")", 1)[1].split()[1])  # deploy/nginx.py
    os.kill(wrapper, signal.SIGTERM)  # what honcho sends it on Ctrl-C
    wait_until(lambda: not os.path.exists(f"/proc/{master}"), timeout=6, what="nginx's master to exit")
    stream.close()


def test_the_config_names_every_application_host_and_nginx_accepts_it(tmp_path, monkeypatch):
    """A balancer in front of several application hosts (docs/deployment.md): one upstream server each,
    left out for 5 s after a failure; without the lists, this host's ports as before."""
    require_nginx()
    monkeypatch.setenv("APP_SERVERS", "10.0.0.11:8001, 10.0.0.12:8001")
    monkeypatch.delenv("STREAMS_SERVERS", raising=False)
    monkeypatch.setenv("STREAMS_PORT", "8002")
    conf = nginx.render(
        tmp_path,
        port=free_port(),
        app_servers=nginx.servers("APP_SERVERS", "APP_PORT"),
        streams_servers=nginx.servers("STREAMS_SERVERS", "STREAMS_PORT"),
    )
    text = conf.read_text()
    for server in ("10.0.0.11:8001", "10.0.0.12:8001", "127.0.0.1:8002"):
        assert f"server {server} max_fails=1 fail_timeout=5s;" in text
    checked = subprocess.run([*nginx.command(conf), "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
