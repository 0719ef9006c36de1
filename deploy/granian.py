"""granian for request/response in the deployed layout (Procfile.cluster; docs/operations.md, Deployment).

`python -m deploy.granian` serves seatbooking.wsgi:application with granian's WSGI interface, on
127.0.0.1:APP_PORT (nginx is in front; APP_HOST: the address of an application host behind a load balancer
on another host, docs/deployment.md). Chosen by `make bench` (docs/performance.md): its HTTP
handling is Rust and it keeps nginx's upstream connections alive (gunicorn's sync workers parse HTTP in
Python and close the connection after every response). On this 2-core machine, behind the same nginx,
it made -5% to +19% more seat changes per second than gunicorn's sync workers in the day's comparisons
(more in 7 of 8), with less web CPU per change, and about twice the rate of requests with no database work.

From the environment:
- WEB_WORKERS: worker processes, one per core this process may run on by default (measured: more
  workers than cores only add switching while PostgreSQL shares the cores). A container limited by a
  CPU quota still sees the host's cores: set it there. Each worker runs the application on one thread
  and keeps one PostgreSQL connection (seatbooking/wsgi.py), so the database budget is WEB_WORKERS.
- WEB_METRICS_DIR: where the workers write their metrics (below); a fresh temporary directory if unset.
- WEB_LOG_LEVEL: granian's own log level (warning).

Metrics: each worker is a process of its own and a scrape of /metrics lands on any one of them, so the
workers write their figures to files in PROMETHEUS_MULTIPROC_DIR and a scrape reads every worker's
(core/metrics.py). Set here, not in the shared environment: the streams process (uvicorn) keeps its
figures in memory and is scraped on its own. A replaced worker's files stay: its counters still count,
and the workers set no gauge (streams, delivery and request slots are the ASGI process's), so its
gauges' files hold zeros that change no sum or maximum.

A worker that dies is started again; one that dies again within a few seconds of its restart (a crash
loop) makes granian exit, as gunicorn did when a worker could not boot: run the deployed processes under a
supervisor that restarts them (systemd, Kubernetes). A stop (SIGTERM, SIGINT) lets requests in hand
finish for up to WORKERS_KILL_SECONDS, as uvicorn's --timeout-graceful-shutdown for the streams.
"""

import os
import shutil
import tempfile
from pathlib import Path

from granian import Granian
from granian.constants import HTTPModes, Interfaces
from granian.log import LogLevels

WORKERS_KILL_SECONDS = 4
BACKLOG = 2048  # connections wait here when every worker is busy; WEB_MAX_WAIT_SECONDS bounds a request's wait


def workers() -> int:
    return int(os.environ.get("WEB_WORKERS") or len(os.sched_getaffinity(0)))


def main() -> None:
    configured = os.environ.get("WEB_METRICS_DIR")
    metrics_dir = Path(configured or tempfile.mkdtemp(prefix="seatbooking-web-metrics-"))
    metrics_dir.mkdir(parents=True, exist_ok=True)
    # A restart starts its counters from zero (Prometheus reads that as a reset), not from the files of
    # the previous run's workers. Before any worker imports prometheus_client (they fork from here).
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    server = Granian(
        "seatbooking.wsgi:application",
        interface=Interfaces.WSGI,
        address=os.environ.get("APP_HOST", "127.0.0.1"),
        port=int(os.environ.get("APP_PORT", "8090")),
        workers=workers(),
        blocking_threads=1,
        http=HTTPModes.http1,  # nginx speaks HTTP/1.1 to it
        websockets=False,
        backlog=BACKLOG,
        respawn_failed_workers=True,
        workers_kill_timeout=WORKERS_KILL_SECONDS,
        log_level=LogLevels(os.environ.get("WEB_LOG_LEVEL", "warning").lower()),
        log_access=False,
    )
    try:
        server.serve()
    finally:
        if not configured:  # one per start otherwise, left in the temporary directory
            shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
