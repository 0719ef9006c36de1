"""/metrics under granian as deployed (deploy/granian.py): several worker processes, and a scrape lands
on any one of them. Every scrape must give the figures of all of them, or Prometheus reads each
drop as a counter reset."""

import os
import signal
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.http import free_port, wait_for_server
from tests.processes import Processes, wait_until

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

TOKEN = "a-long-scrape-token"
REQUESTS = 60


def get(url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def not_found_count(text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "seatbooking_http_request_duration_seconds_count" and sample.labels["status"] == "404"
    )


def test_every_scrape_counts_every_workers_requests(tmp_path, settings):
    processes = Processes(tmp_path)
    port = free_port()
    processes.configure(settings, METRICS_TOKEN=TOKEN)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"")  # a previous run's: a restart starts from zero
    processes.env.update(APP_PORT=str(port), WEB_WORKERS="3", WEB_METRICS_DIR=str(metrics_dir))
    processes.start_argv("web", [sys.executable, "-m", "deploy.granian"])
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(base, timeout=30)
        assert not (metrics_dir / "counter_999999.db").exists()
        # The first worker to load the application answers while the others still load it, and would take
        # every request: wait until all three have loaded it (each writes its gauges' file on import).
        wait_until(
            lambda: len({path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("gauge_*.db")}) == 3,
            timeout=30,
            what="all three workers loaded",
        )
        # Concurrent requests spread over the workers (each takes one at a time); more rounds if the kernel
        # happened to hand one worker every connection.
        sent = 0
        with ThreadPoolExecutor(max_workers=12) as pool:
            for _ in range(5):
                statuses = list(pool.map(lambda i: get(f"{base}/no-such-page-{i}")[0], range(REQUESTS)))
                assert statuses == [404] * REQUESTS
                sent += REQUESTS
                workers_seen = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("histogram_*.db")}
                if len(workers_seen) >= 2:
                    break
        assert len(workers_seen) >= 2, "the requests did not spread over the workers: the test shows nothing"
        counts = []
        for _ in range(12):
            status, text = get(f"{base}/metrics", Authorization=f"Bearer {TOKEN}")
            assert status == 200, text
            counts.append(not_found_count(text))
        assert counts == [sent] * len(counts), counts
        # No gauge is set in a WSGI worker: a dead worker's gauge files, which stay, hold zeros only.
        gauges = CollectorRegistry()
        MultiProcessCollector(gauges, path=str(metrics_dir))
        values = [s.value for m in gauges.collect() if m.type == "gauge" for s in m.samples]
        assert values and not any(values), values
    finally:
        processes.kill_all()


def test_a_worker_that_dies_is_replaced(tmp_path, settings):
    """deploy/granian.py respawns a failed worker, as gunicorn's arbiter did: a crash costs the requests
    in hand on that worker (and connections waiting on its socket are reset: each worker listens on a
    socket of its own), not the capacity."""
    processes = Processes(tmp_path)
    port = free_port()
    processes.env.update(APP_PORT=str(port), WEB_WORKERS="2", WEB_METRICS_DIR=str(tmp_path / "metrics"))
    server = processes.start_argv("web", [sys.executable, "-m", "deploy.granian"])
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(base, timeout=30)
        workers = children(server.pid)
        assert len(workers) == 2, workers
        os.kill(workers[0], signal.SIGKILL)

        def replaced() -> bool:
            now = children(server.pid)
            return len(now) == 2 and workers[0] not in now and workers[1] in now

        wait_until(replaced, timeout=20, what="a new worker in the dead one's place")

        def serving() -> bool:
            try:
                return [get(f"{base}/no-such-page")[0] for _ in range(10)] == [404] * 10
            except OSError:  # a connection that met the crash
                return False

        wait_until(serving, timeout=10, what="ten requests in a row answered")
    finally:
        processes.kill_all()


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_a_stop_ends_the_workers_and_removes_the_temporary_metrics(tmp_path):
    """SIGTERM (what honcho and systemd send): the server and its workers exit in a few seconds, and the
    metrics directory it made for itself goes with it (a configured WEB_METRICS_DIR stays)."""
    processes = Processes(tmp_path)
    port = free_port()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    processes.env.update(APP_PORT=str(port), WEB_WORKERS="2", TMPDIR=str(scratch))
    server = processes.start_argv("web", [sys.executable, "-m", "deploy.granian"])
    try:
        wait_for_server(f"http://127.0.0.1:{port}", timeout=30)
        workers = children(server.pid)
        assert len(workers) == 2 and len(list(scratch.glob("seatbooking-web-metrics-*"))) == 1
        assert processes.stop(server, sig=signal.SIGTERM, timeout=15) < 10
        assert server.returncode == 0, processes.logs()
        assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "a worker outlived the server"
        assert not list(scratch.glob("seatbooking-web-metrics-*"))
    finally:
        processes.kill_all()
