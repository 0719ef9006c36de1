"""Logs an operator can keep (core/logs.py): the real processes' output, counted line by line.

- a quiet service with a booking in it writes, at INFO, one line per change of an order and nothing per
  request, heartbeat or task;
- a burst of refusals (429 throttled; 503 when the database is away) is one WARNING line per 5 s per
  process with the counts, not a line (or a traceback) each;
- the summary itself: the first refusal at once, the rest within the interval, never more often;
- repeats: only identical warnings and errors are folded, not distinct ones that share a template.
"""

import logging
import re
import sys
import time

import pytest

from core.logs import RefusalSummary, Repeats
from flights.services import create_flight
from tests.http import SSEStream, call, free_port, wait_for_server
from tests.processes import Processes, wait_until

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+) (.*)$")


def log_lines(processes: Processes) -> list[tuple[str, str, str]]:
    """(level, logger, message) of every line the processes wrote through the service's logging."""
    lines = []
    for path in sorted(processes.log_dir.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            match = STAMP.match(line)
            if match:
                lines.append((match[1], match[2], match[3]))
    return lines


def start_web_as_deployed(processes: Processes) -> str:
    """The web process as Procfile runs it (deploy/serve.py: uvicorn with its bounds), uvicorn's own log level
    left at its default (info)."""
    port = free_port()
    processes.start_argv(
        "web",
        [sys.executable, "-m", "deploy.serve", "--host", "127.0.0.1", "--port", str(port)],
    )
    base = f"http://127.0.0.1:{port}"
    wait_for_server(base)
    return base


@pytest.fixture
def processes(transactional_db, tmp_path, settings):
    from django.utils import timezone

    create_flight(code="FL-001", origin="A", destination="B", departs_at=timezone.now(), rows=5, letters="ABCDEF")
    processes = Processes(tmp_path)
    processes.env["LOG_LEVEL"] = "INFO"
    yield processes
    processes.kill_all()
    print(processes.logs())


@pytest.mark.postgres_only  # a real worker cluster (django-q2 needs PostgreSQL for it in tests)
def test_at_info_a_line_per_order_change_and_none_per_request_heartbeat_or_task(processes, settings):
    processes.configure(settings, HEARTBEAT_SECONDS=0.5, PAYMENT_LATENCY_SECONDS=0.05, PAYMENT_FAILURE_RATE=0)
    base = start_web_as_deployed(processes)
    processes.start("run_worker")
    processes.start("run_timers")
    status, created = call(base, "POST", "/orders", {"flightID": "FL-001"})
    assert status == 201
    order, token = created["orderID"], created["token"]
    assert call(base, "POST", f"/orders/{order}/seats", {"seats": ["1A"]}, token)[0] == 200
    for _ in range(10):
        assert call(base, "GET", f"/orders/{order}/status", token=token)[0] == 200
        call(base, "GET", "/flights")
    for _ in range(3):  # streams opened: no line each either
        stream = SSEStream(base, "/flights/FL-001/events")
        stream.next()
        stream.close()
    assert call(base, "POST", f"/orders/{order}/payment", {"code": "12345"}, token)[0] == 202
    wait_until(
        lambda: call(base, "GET", f"/orders/{order}/status", token=token)[1]["State"] == "CONFIRMED",
        timeout=15,
        what="the payment",
    )
    time.sleep(3)  # six heartbeats' worth of quiet (HEARTBEAT_SECONDS=0.5)

    lines = log_lines(processes)
    info = [line for line in lines if line[0] == "INFO"]
    changes = [line for line in info if line[1] == "orders.services.common"]
    # create, select seats, submit payment, the attempt, confirm: one line each, whichever process made it
    assert len(changes) >= 4 and all(order in message for _level, _logger, message in changes), changes
    chatter = [line for line in info if re.search(r"Enqueued \[|Processed '| processing |beat", line[2])]
    assert not chatter, chatter
    requests = [
        line
        for line in info
        if line[1].startswith(("uvicorn.access", "django_eventstream")) or '"GET /' in line[2] or "listener" in line[2]
    ]
    assert not requests, requests
    assert not [line for line in lines if line[0] in ("ERROR", "CRITICAL")], lines


def test_throttled_requests_are_one_summary_line_not_one_each(processes, settings):
    processes.configure(settings, THROTTLE_CREATE_ORDER="2/min")
    base = start_web_as_deployed(processes)
    statuses = [call(base, "POST", "/orders", {"flightID": "FL-001"})[0] for _ in range(40)]
    assert statuses.count(429) >= 35, statuses

    def counted() -> int:
        summaries = [line for line in log_lines(processes) if line[1] == "core.refusals"]
        return sum(int(n) for _l, _n, message in summaries for n in re.findall(r"429 throttled: (\d+)", message))

    wait_until(lambda: counted() == statuses.count(429), timeout=8, what="every refusal in a summary line")
    summaries = [line for line in log_lines(processes) if line[1] == "core.refusals"]
    assert len(summaries) == 2, summaries  # the first at once, the rest within 5 s
    assert not [line for line in log_lines(processes) if "Too Many Requests" in line[2]]


@pytest.mark.postgres_only  # a PostgreSQL address where nothing listens
def test_with_the_database_away_503s_are_summarised_without_tracebacks(processes, settings):
    processes.env.update(DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/gone")
    port = free_port()
    processes.start_web(port)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: _answers(base), timeout=20, what="the web process")
    started = time.monotonic()
    statuses = [_status(base, path) for _ in range(10) for path in ("/flights", "/flights/FL-001", "/")]
    seconds = time.monotonic() - started  # each waits DB_POOL_TIMEOUT for a connection that never comes
    assert set(statuses) == {503}, statuses
    time.sleep(2)  # the web process's own background work (event relay, reports) keeps failing meanwhile
    wait_until(lambda: "database_unavailable" in processes.logs(), timeout=8, what="the summary line")
    lines = log_lines(processes)
    assert not [line for line in lines if "Service Unavailable" in line[2]], lines
    summaries = [line for line in lines if line[1] == "core.refusals"]
    assert 1 <= len(summaries) <= seconds / 5 + 2, (seconds, summaries)  # at most one per 5 s, 30 refusals
    assert sum(int(n) for *_, message in summaries for n in re.findall(r"unavailable: (\d+)", message)) <= 30
    # What keeps failing in the background is said once, with its traceback, not every 0.2 s.
    errors = [line for line in lines if line[0] == "ERROR"]
    assert len(errors) == len(set(errors)), errors
    assert processes.logs().count("Traceback") <= len(errors)


def _status(base: str, path: str) -> int:
    try:
        return call(base, "GET", path)[0]
    except ValueError:  # a page: not JSON
        return 503


def _answers(base: str) -> bool:
    try:
        call(base, "GET", "/flights")
        return True
    except OSError:
        return False


def test_the_summary_says_the_first_refusal_at_once_and_the_rest_within_the_interval(caplog):
    summary = RefusalSummary(every=0.5)
    with caplog.at_level(logging.WARNING, logger="core.refusals"):
        for _ in range(1000):
            summary.count("503 busy")
        assert len(caplog.records) == 1 and "refused 1 request(s)" in caplog.records[0].getMessage()
        time.sleep(0.8)  # nothing more comes; the rest are still reported
        assert len(caplog.records) == 2 and "503 busy: 999" in caplog.records[1].getMessage()
        summary.count("429 throttled")
        assert len(caplog.records) == 2  # not sooner than 0.5 s after the last line
        time.sleep(0.8)
    assert [r.getMessage().rsplit("(", 1)[1] for r in caplog.records] == [
        "503 busy: 1)",
        "503 busy: 999)",
        "429 throttled: 1)",
    ]


def _record(msg: str, *args, level: int = logging.ERROR, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc else None
    return logging.LogRecord("orders.gateway", level, __file__, 1, msg, args, exc_info)


def test_repeats_fold_only_identical_lines_not_distinct_ones_with_one_template():
    repeats = Repeats(window=60)
    # distinct 500s and gateway errors share a template: each is a line of its own
    assert repeats.filter(_record("Internal Server Error: %s", "/orders/o-1/seats"))
    assert repeats.filter(_record("Internal Server Error: %s", "/flights"))
    assert repeats.filter(_record("payment gateway error for %s", "o-1", exc=TimeoutError()))
    assert repeats.filter(_record("payment gateway error for %s", "o-2", exc=TimeoutError()))
    # the same text with another exception is another incident
    assert repeats.filter(_record("payment gateway error for %s", "o-1", exc=ConnectionResetError()))
    # truly identical repeats are folded, then counted on the next line written
    assert not repeats.filter(_record("Internal Server Error: %s", "/flights"))
    assert not repeats.filter(_record("payment gateway error for %s", "o-2", exc=TimeoutError()))
    repeats.window = 0
    again = _record("Internal Server Error: %s", "/flights")
    assert repeats.filter(again) and "[1 more like this" in again.getMessage()
