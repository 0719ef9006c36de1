"""/metrics under gunicorn as deployed (deploy/gunicorn_conf.py): several worker processes, and a scrape
lands on any one of them. Every scrape must give the figures of all of them, or Prometheus reads each
drop as a counter reset (review of issue 17, defect 1)."""

import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.http import free_port, wait_for_server
from tests.processes import Processes

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
    processes.env.update(APP_PORT=str(port), GUNICORN_WORKERS="3", GUNICORN_METRICS_DIR=str(metrics_dir))
    processes.start_argv(
        "gunicorn", [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn_conf.py", "seatbooking.wsgi:application"]
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(base, timeout=30)
        # Concurrent requests spread over the sync workers (each takes one at a time).
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(lambda i: get(f"{base}/no-such-page-{i}")[0], range(REQUESTS)))
        assert statuses == [404] * REQUESTS
        counts = []
        for _ in range(12):
            status, text = get(f"{base}/metrics", Authorization=f"Bearer {TOKEN}")
            assert status == 200, text
            counts.append(not_found_count(text))
        assert counts == [REQUESTS] * len(counts), counts
        workers_seen = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("histogram_*.db")}
        assert len(workers_seen) >= 2, "the requests did not spread over the workers: the test shows nothing"
    finally:
        processes.kill_all()
