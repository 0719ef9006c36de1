"""nginx's error log carries no token: `python -m deploy.nginx` (as Procfile.cluster runs it) relays each of
nginx's lines through the service's logging and its redaction (core/logs.py), at nginx's level.

nginx logs an upstream it cannot reach with the request line and the upstream URL, query string included:
during a deploy, every event stream opened with `?token=` or `?ticket=` put its secret in the log. Here
both upstreams are closed ports, so each request is such a line.

Needs Debian's nginx: in CI (CI=true) a missing nginx fails the test, elsewhere it skips with the reason.
"""

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from core.logs import redact
from orders.access import stream_ticket
from tests.http import free_port
from tests.processes import BASE_DIR
from tests.test_proxy import require_nginx

ORDER_ID = str(uuid.uuid4())
TOKEN = secrets.token_urlsafe(32)  # as an order's token is made


def run_nginx_without_upstreams(tmp_path: Path, log_format: str, paths: list[str]) -> str:
    """nginx in front of two closed ports; `paths` requested through it; everything the launcher wrote."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "seatbooking.settings",
        "WEB_PORT": str(port),
        "APP_PORT": str(free_port()),  # nothing listens: nginx logs "connect() failed ... upstream"
        "STREAMS_PORT": str(free_port()),
        "NGINX_DIR": str(tmp_path / "nginx"),
        "LOG_FORMAT": log_format,
    }
    output = tmp_path / "nginx.log"
    with output.open("w") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "deploy.nginx"], cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port(port)
        for path in paths:
            status = get(port, path)
            assert status == 503, f"{path}: {status} (nginx's answer when an upstream is down)"
    finally:
        launcher.send_signal(signal.SIGTERM)  # becomes nginx's graceful stop; the relay ends with nginx
        try:
            launcher.wait(timeout=15)
        except subprocess.TimeoutExpired:
            launcher.kill()
            raise
    return output.read_text()


def wait_for_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nginx did not listen on {port}")


def get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_nginx_lines_about_a_failing_upstream_carry_no_token(tmp_path, log_format):
    require_nginx()
    ticket = stream_ticket(ORDER_ID)
    signature = ticket.rsplit(":", 1)[1]
    paths = [
        f"/orders/{ORDER_ID}/events?token={TOKEN}",  # the streams upstream
        f"/orders/{ORDER_ID}/events?ticket={ticket}",
        f"/orders/{ORDER_ID}?token={TOKEN}&view=receipt",  # the request/response upstream
    ]
    written = run_nginx_without_upstreams(tmp_path, log_format, paths)

    for secret in (TOKEN, ticket, signature):
        assert secret not in written, f"nginx's log carries a secret:\n{written}"
    failures = [line for line in written.splitlines() if "connect() failed" in line]
    assert len(failures) >= len(paths), written
    for failure in failures:
        assert "[redacted]" in failure and f"/orders/{ORDER_ID}" in failure, failure
        if log_format == "json":
            record = json.loads(failure)
            assert (record["level"], record["logger"]) == ("ERROR", "nginx"), record
        else:
            assert " ERROR nginx " in failure, failure
    print(failures[0])


def test_a_json_line_keeps_the_quote_after_a_redacted_url():
    """In a JSON line a quoted URL ends `...?ticket=X\\"`: the redaction stops before the backslash, so the
    line is still JSON (it used to take the backslash along with the secret, leaving a line no parser reads)."""
    line = json.dumps({"message": f'upstream: "http://127.0.0.1/orders/{ORDER_ID}/events?ticket=1xaRlT:{TOKEN}"'})
    redacted = redact(line)
    assert TOKEN not in redacted
    assert json.loads(redacted)["message"].endswith('events?ticket=[redacted]"'), redacted


def test_a_secret_under_its_key_is_redacted_inside_a_json_lines_string_too():
    """A body logged as text inside a JSON line has its quotes escaped (`\\"token\\": \\"X\\"`): the key's rule
    still finds the value, whatever its shape, and the line stays JSON."""
    for key in ("token", "Authorization", "ticket"):
        line = json.dumps({"message": json.dumps({key: "a short secret", "seats": ["1A"]})})
        redacted = redact(line)
        assert "a short secret" not in redacted, redacted
        assert json.loads(json.loads(redacted)["message"]) == {key: "[redacted]", "seats": ["1A"]}
