"""PostgreSQL away: the API says so with 503 and Retry-After (JSON), /health says `down`, nothing crashes.

A real web process whose database does not answer (a port where nothing listens).
"""

import time

import pytest

from tests.http import call, free_port
from tests.processes import Processes


@pytest.mark.django_db  # only for the suite's own database fixtures; this web process has none
def test_without_its_database_the_api_answers_503_with_retry_after(tmp_path):
    processes = Processes(tmp_path)
    processes.env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/gone", DB_POOL_MAX_SIZE="2", DB_POOL_TIMEOUT="1"
    )
    port = free_port()
    processes.start_web(port)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                status, body = call(base, "GET", "/flights")
                break
            except OSError:
                assert time.monotonic() < deadline, processes.logs()
                time.sleep(0.1)
        assert status == 503 and body["code"] == "database_unavailable", body
        status, body = call(base, "POST", "/orders", {"flightID": "FL-001"})
        assert status == 503 and "Try again" in body["error"], body
        status, body = call(base, "GET", "/health")
        assert status == 503 and body["down"] == ["database"], body
    finally:
        processes.kill_all()
