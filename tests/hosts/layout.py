"""The service laid out on test hosts as docs/deployment.md describes it:

    lb     10.77.0.10  nginx (deploy/nginx.conf), the one address travellers use (port 8080)
    app1   10.77.0.11  granian (request/response, 8001) and uvicorn (event streams, 8002)
    app2   10.77.0.12  the same
    work   10.77.0.13  a django-q2 worker cluster and the timer loop
    db1-3  10.77.0.21-23  PostgreSQL managed by Patroni, and an etcd member each
    redis  10.77.0.30  Redis (events between processes, the task queue)

The application reaches PostgreSQL with libpq's multi-host connection string (every database host,
target_session_attrs=read-write): the first host that takes writes is the primary.
"""

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.hosts import database
from tests.hosts.network import RUN_PREFIX, Host, Network, remove_all
from tests.http import wait_for_server

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
LB_PORT, APP_PORT, STREAMS_PORT = 8080, 8001, 8002
DATABASE = "seatbooking"
FLIGHT = "HX-990"  # a flight of its own: 990 seats, enough for every booking a test makes
FLIGHT_SEATS = [f"{row}{letter}" for row in range(1, 100) for letter in "ABCDEFGHJK"]


@dataclass
class Layout:
    base: Path
    network: Network
    synchronous: bool
    db_hosts: list[Host] = field(default_factory=list)
    url: str = ""

    @property
    def lb(self) -> str:
        return f"http://{self.network['lb'].address}:{LB_PORT}"

    def host(self, name: str) -> Host:
        return self.network[name]

    def env(self, **extra: str) -> dict[str, str]:
        """What every application process on the hosts is started with."""
        return {
            "DATABASE_URL": self.url,
            "REDIS_URL": f"redis://{self.network['redis'].address}:6379/0",
            "TRUSTED_PROXIES": self.network["lb"].address,
            "ALLOWED_HOSTS": ",".join(self.network[n].address for n in ("lb", "app1", "app2")),
            "SECRET_KEY": "test-hosts-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "DJANGO_SETTINGS_MODULE": "seatbooking.settings",
            # One test client books for many travellers: the per-client limits would refuse it.
            "CLIENT_HOLD_LIMIT_SEATS": "0",
            "CLIENT_OPEN_ORDERS_LIMIT": "0",
            "THROTTLE_CREATE_ORDER": "1000000/min",
            "THROTTLE_CHANGE_SEATS": "1000000/min",
            "THROTTLE_PAYMENT": "1000000/min",
            "PAYMENT_LATENCY_SECONDS": "0.05",
            "PAYMENT_BACKOFF_INITIAL_SECONDS": "0.2",
            "PAYMENT_GATEWAY_LEDGER": str(self.base / "gateway-ledger.sqlite3"),
            "EVENTS_KEEPALIVE_SECONDS": "2",
            "LOG_LEVEL": "WARNING",
            **extra,
        }

    def connect(self, *, timeout: float = 30, **kwargs) -> psycopg.Connection:
        """A connection to the primary, from the machine (the test's own checks); waits for a primary to
        take writes (a replica being promoted is still read-only for a moment)."""
        hosts = ",".join(h.address for h in self.db_hosts)
        conninfo = f"host={hosts} dbname={DATABASE} user=postgres target_session_attrs=read-write connect_timeout=2"
        deadline = time.monotonic() + timeout
        while True:
            try:
                return psycopg.connect(conninfo, **kwargs)
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def manage(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"manage.py {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout


def build(*, synchronous: bool) -> Layout:
    """Every host started, the database migrated and seeded, the service answering through the balancer."""
    remove_all()  # what an earlier run left, if it could not clean up (killed)
    base = Path(tempfile.mkdtemp(prefix=RUN_PREFIX))
    base.chmod(0o755)  # Patroni runs as postgres and keeps its data below
    network = Network(base)
    layout = Layout(base, network, synchronous)
    try:
        for name, octet in [("lb", 10), ("app1", 11), ("app2", 12), ("work", 13), ("redis", 30)]:
            network.add(name, octet)
        layout.db_hosts = [network.add(f"db{i}", 20 + i) for i in (1, 2, 3)]
        start_database(layout)
        start_redis(network["redis"])
        layout.manage("migrate", "--noinput", "-v0")
        layout.manage("seed_demo")
        layout.manage(
            "shell", "-c",
            "import datetime as dt; from django.utils import timezone; from flights.services import create_flight; "
            f"create_flight(code='{FLIGHT}', origin='Lisbon', destination='Porto', rows=99, letters='ABCDEFGHJK', "
            "departs_at=timezone.now() + dt.timedelta(days=5))",
        )  # fmt: skip
        for name in ("app1", "app2"):
            start_app_host(layout, network[name])
        start_work_host(layout, network["work"])
        start_balancer(layout, network["lb"])
        wait_for_server(layout.lb, timeout=60)
    except BaseException:
        print(f"\n=== logs of the test hosts ({base})\n{logs(layout)}")
        network.close()
        raise
    return layout


def start_database(layout: Layout) -> None:
    database.start_etcd(layout.db_hosts, layout.base)
    for host in layout.db_hosts:
        database.start_patroni(host, layout.db_hosts, layout.base, synchronous=layout.synchronous)
    database.wait_for_cluster(layout.db_hosts, synchronous=layout.synchronous)
    layout.url = database.database_url(layout.db_hosts, DATABASE)
    hosts = ",".join(h.address for h in layout.db_hosts)
    with psycopg.connect(
        f"host={hosts} dbname=postgres user=postgres target_session_attrs=read-write", autocommit=True
    ) as conn:
        conn.execute(f"CREATE DATABASE {DATABASE}")


def start_redis(host: Host) -> None:
    host.start(
        "redis",
        ["redis-server", "--bind", host.address, "--port", "6379", "--save", "", "--appendonly", "no",
         "--protected-mode", "no"],
    )  # fmt: skip


def start_app_host(layout: Layout, host: Host) -> None:
    env = layout.env(APP_HOST=host.address, APP_PORT=str(APP_PORT), WEB_WORKERS="1")
    host.start("web", [PYTHON, "-m", "deploy.granian"], env=env, cwd=ROOT)
    streams = [
        str(ROOT / ".venv" / "bin" / "uvicorn"), "seatbooking.asgi:application", "--host", host.address,
        "--port", str(STREAMS_PORT), "--no-proxy-headers", "--timeout-graceful-shutdown", "4", "--no-access-log",
    ]  # fmt: skip
    host.start("streams", streams, env={**env, "DB_POOL_MAX_SIZE": "5"}, cwd=ROOT)
    for port in (APP_PORT, STREAMS_PORT):
        wait_for_server(f"http://{host.address}:{port}", timeout=60)


def start_work_host(layout: Layout, host: Host) -> None:
    host.start("worker", [PYTHON, "manage.py", "run_worker"], env=layout.env(), cwd=ROOT)
    host.start("timers", [PYTHON, "manage.py", "run_timers"], env=layout.env(), cwd=ROOT)


def start_balancer(layout: Layout, host: Host) -> None:
    apps = [layout.host(n).address for n in ("app1", "app2")]
    env = layout.env(
        WEB_PORT=str(LB_PORT),
        NGINX_HOST=host.address,
        NGINX_DIR=str(layout.base / "lb"),
        APP_SERVERS=",".join(f"{a}:{APP_PORT}" for a in apps),
        STREAMS_SERVERS=",".join(f"{a}:{STREAMS_PORT}" for a in apps),
    )
    host.start("nginx", [PYTHON, "-m", "deploy.nginx"], env=env, cwd=ROOT)


def logs(layout: Layout) -> str:
    return "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}" for p in sorted(layout.base.glob("*.log"))
    )
