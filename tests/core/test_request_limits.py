"""Limits at the door, against a real uvicorn process and through the test client.

- X-Forwarded-For moves the throttle key only when the socket's peer is a trusted proxy;
- a body over MAX_REQUEST_BODY_BYTES is refused with 413 JSON before it is read, and nothing is logged as an error.
"""

import json
import logging
import socket
import time

import pytest

from flights.services import create_flight
from tests.http import free_port, wait_for_server
from tests.processes import Processes

pytestmark = pytest.mark.django_db(transaction=True)


def start_uvicorn(processes: Processes) -> str:
    """uvicorn as make run starts it: its own proxy-header handling off, so the app's middleware alone
    decides who the client is."""
    port = free_port()
    processes.start_web(port)
    base = f"http://127.0.0.1:{port}"
    wait_for_server(base)
    return base


@pytest.fixture
def server(transactional_db, tmp_path, settings):
    from django.utils import timezone

    create_flight(code="FL-001", origin="A", destination="B", departs_at=timezone.now(), rows=5, letters="ABCDEF")
    processes = Processes(tmp_path)
    processes.configure(settings, THROTTLE_CREATE_ORDER="3/min", MAX_REQUEST_BODY_BYTES=65536)

    def start(**values):
        processes.env.update({k: str(v) for k, v in values.items()})
        return start_uvicorn(processes)

    yield start, processes
    processes.kill_all()
    print(processes.logs())


def raw_request(base: str, head: str, body_chunks=(), timeout: float = 5) -> tuple[float, bytes]:
    """Send `head` (and the chunks, as far as the server takes them); the seconds to the answer, and the answer."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        started = time.monotonic()
        sock.sendall(head.encode())
        for chunk in body_chunks:
            try:
                sock.sendall(chunk)
            except OSError:  # the server answered and closed: it need not read the rest
                break
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        return time.monotonic() - started, answer


def create_order(base: str, forwarded_for: str | None = None) -> int:
    body = json.dumps({"flightID": "FL-001"})
    head = (
        f"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
    )
    if forwarded_for:
        head += f"X-Forwarded-For: {forwarded_for}\r\n"
    _, answer = raw_request(base, head + "\r\n" + body)
    return int(answer.split(b" ", 2)[1])


def test_a_spoofed_forwarded_for_does_not_change_the_throttle_key_on_a_real_server(server):
    start, _ = server
    base = start(TRUSTED_PROXIES="")
    assert [create_order(base, f"203.0.113.{i}") for i in range(5)] == [201, 201, 201, 429, 429]


def test_behind_a_trusted_proxy_a_real_server_keys_on_the_forwarded_address(server):
    start, _ = server
    base = start(TRUSTED_PROXIES="127.0.0.1")  # the test itself is the proxy
    assert [create_order(base, f"203.0.113.{i}") for i in range(5)] == [201] * 5
    assert [create_order(base, "198.51.100.1") for _ in range(4)] == [201, 201, 201, 429]


def body_of(answer: bytes) -> dict:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


def test_a_body_announced_over_the_limit_is_refused_before_it_is_sent(server, tmp_path):
    start, processes = server
    base = start()
    head = (
        "POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
    )
    seconds, answer = raw_request(base, head, timeout=5)  # no body follows: the server must not wait for it
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert seconds < 2
    assert body_of(answer)["code"] == "body_too_large" and "MAX_REQUEST_BODY_BYTES" in body_of(answer)["error"]
    assert b"application/json" in answer.split(b"\r\n\r\n")[0].lower()
    assert "ERROR" not in processes.logs() and "Traceback" not in processes.logs()


def test_a_chunked_body_is_counted_as_it_arrives_and_refused_once_over(server):
    start, processes = server
    base = start()
    head = (
        "POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b" " * 16384
    chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(8)] + [b"0\r\n\r\n"]  # 128 KB in all
    _, answer = raw_request(base, head, chunks)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert body_of(answer)["code"] == "body_too_large"
    # A small chunked body still reaches the application (where DRF, seeing no Content-Length, reads no body).
    body = json.dumps({"flightID": "FL-001"}).encode()
    _, answer = raw_request(base, head, [b"%x\r\n%s\r\n" % (len(body), body), b"0\r\n\r\n"])
    assert answer.startswith(b"HTTP/1.1 4") and body_of(answer)["code"] != "body_too_large", answer[:300]
    assert "ERROR" not in processes.logs() and "Traceback" not in processes.logs()


@pytest.mark.parametrize("path", ["/orders", "/book/FL-001"])
def test_djangos_own_limit_answers_the_same_413_without_an_error_log(client, path, caplog):
    from django.utils import timezone

    create_flight(code="FL-001", origin="A", destination="B", departs_at=timezone.now(), rows=5, letters="ABCDEF")
    big = json.dumps({"flightID": "FL-001", "padding": "x" * 70_000})
    with caplog.at_level(logging.INFO):
        response = client.post(path, big, content_type="application/json", HTTP_HOST="127.0.0.1")
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large" and "MAX_REQUEST_BODY_BYTES" in response.json()["error"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
