"""gunicorn for request/response in the deployed layout (Procfile.cluster; README, Deployment).

`gunicorn -c deploy/gunicorn_conf.py seatbooking.wsgi:application`; from the environment: APP_PORT (it
listens on 127.0.0.1 only: nginx is in front), GUNICORN_WORKERS (one per core: measured on this 2-core
machine under a burst, 2 workers made more seat changes per second than 4, at both 8 and 32 clients, each
change costing less CPU; more workers than cores only add switching while PostgreSQL shares the cores),
GUNICORN_THREADS (1: sync workers; more makes them gthread workers). Each worker keeps one PostgreSQL
connection (seatbooking/wsgi.py). `make bench` compares the worker classes (README, Performance).

Metrics: each worker is a process of its own and a scrape of /metrics lands on any one of them, so the
workers write their figures to files in PROMETHEUS_MULTIPROC_DIR (GUNICORN_METRICS_DIR, or a fresh
temporary directory) and a scrape reads every worker's (core/metrics.py). Set here, not in the shared
environment: the streams process (uvicorn) keeps its figures in memory and is scraped on its own.
"""

import os
import shutil
import tempfile
from pathlib import Path

# Before any worker imports prometheus_client (workers load the app after the fork; this file runs first).
metrics_dir_is_temporary = not os.environ.get("GUNICORN_METRICS_DIR")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ.get("GUNICORN_METRICS_DIR") or tempfile.mkdtemp(
    prefix="seatbooking-gunicorn-metrics-"
)

bind = f"127.0.0.1:{os.environ.get('APP_PORT', '8090')}"
# The cores this process may run on (a cpuset); a container limited by a CPU quota instead still sees
# the host's cores, so set GUNICORN_WORKERS there (each worker keeps a PostgreSQL connection).
workers = int(os.environ.get("GUNICORN_WORKERS", len(os.sched_getaffinity(0))))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
worker_class = "gthread" if threads > 1 else "sync"
backlog = 2048  # requests wait here when every worker is busy; WEB_MAX_WAIT_SECONDS bounds the wait
timeout = 30  # a worker stuck this long is killed and replaced
graceful_timeout = 4  # on SIGTERM: requests in hand get this long, as uvicorn's --timeout-graceful-shutdown
keepalive = 65  # gthread only (sync workers close after each response); nginx keeps connections open
accesslog = None
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
control_socket_disable = True  # one per machine by default (~/.gunicorn); several gunicorns run here


def on_starting(server) -> None:
    """A restarted gunicorn starts its counters from zero (Prometheus reads that as a reset), not from the
    files of the previous run's workers."""
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:
    """A worker that exits leaves its counters (they still count) but its gauges must not linger."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if metrics_dir_is_temporary:  # one per start otherwise, left in the temporary directory
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
