"""Fuzz the API with schemathesis, from its own OpenAPI schema, against a live server.

Bounded here (`FUZZ_EXAMPLES`, a few hundred cases in all); `make fuzz` runs the same much longer.
Checks: no 5xx, every response matches the schema (status, content type, body).
"""

import os
import re
import string
import subprocess
import sys

import pytest

from tests.http import call, free_port, wait_for_server
from tests.processes import BASE_DIR, Processes

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = (
    "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance,"
    "positive_data_acceptance,negative_data_rejection"
)


def test_no_input_breaks_the_api(transactional_db, tmp_path, settings):
    from django.utils import timezone

    from flights.services import create_flight

    # The only flight. Every label the schema allows (rows 1-99, letters A-Z) exists on it, so that a
    # schema-valid selection is refused only for the state of things (taken: 409), never as unknown
    # (schemathesis learns flight ids from responses, so a smaller second flight would be found and used).
    create_flight(
        code="FUZZ-1", origin="A", destination="B", departs_at=timezone.now(), rows=99, letters=string.ascii_uppercase
    )
    processes = Processes(tmp_path)
    generous = "1000000/min"
    processes.configure(
        settings,
        THROTTLE_CREATE_ORDER=generous,
        THROTTLE_CHANGE_SEATS=generous,
        THROTTLE_PAYMENT=generous,
        THROTTLE_FIND_BOOKING=generous,
        FIND_BOOKING_FREE_FAILURES=1_000_000,
        FIND_BOOKING_REFERENCE_FREE_FAILURES=1_000_000,
        PAYMENT_LATENCY_SECONDS=0.01,
    )
    port = free_port()
    processes.start_web(port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(base)
        # One real order and its token, so that the order endpoints are exercised past the access check.
        _, order = call(base, "POST", "/orders", {"flightID": "FUZZ-1"})
        result = run_schemathesis(base, config=write_config(tmp_path, order))
    finally:
        processes.kill_all()
    output = result.stdout + result.stderr
    cases = re.search(r"(\d+) generated", output)
    print(f"schemathesis: {cases.group(0) if cases else '?'} cases\n{output[-3000:]}")
    assert result.returncode == 0, output[-6000:] + processes.logs()
    assert cases and int(cases.group(1)) >= 100


def write_config(tmp_path, order: dict) -> str:
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f'headers = {{ Authorization = "Bearer {order["token"]}" }}\n'
        # No replay of earlier runs' cases: each run is its own, from the seed.
        "[cache]\nenabled = false\n"
        # 422 (an Idempotency-Key used before with another body) depends on earlier requests, as 409 does.
        '[checks.positive_data_acceptance]\nexpected-statuses = ["2XX", "401", "403", "404", "409", "422", "429"]\n'
        f'[parameters]\n"path.order_id" = "{order["orderID"]}"\n"path.flight_code" = "FUZZ-1"\n'
    )
    return str(config)


def run_schemathesis(base: str, *, config: str) -> subprocess.CompletedProcess:
    arguments = {
        "--checks": CHECKS,
        "--exclude-path-regex": ".*/events$",  # streams never end; tests/core/events/test_streams.py covers them
        "--max-examples": os.environ.get("FUZZ_EXAMPLES", "25"),
        "--seed": "20261127",
        "--request-timeout": "10",
    }
    argv = [sys.executable, "-m", "schemathesis.cli", "--config-file", config, "run", f"{base}/api/schema/?format=json"]
    argv += ["--url", base, *[part for pair in arguments.items() for part in pair], "--no-color"]
    return subprocess.run(argv, cwd=BASE_DIR, capture_output=True, text=True, timeout=1200)
