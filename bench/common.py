"""Shared parts of the benchmarks: a PostgreSQL database of their own, server processes, results."""

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
import uvloop

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "var" / "bench"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/seatbooking_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def env(**extra: str) -> dict[str, str]:
    # Every benchmark client comes from 127.0.0.1: the per-address cap on event streams would stop them.
    base = {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "LOG_LEVEL": "WARNING", "STREAMS_PER_ADDRESS": "0"}
    return {**os.environ, **base, **extra}


def prepare_database() -> None:
    """A fresh benchmark database, migrated, seeded with the demo flights, and with the past of a service
    that has sold seats for a while (bench/history.py: big, analysed tables, as PostgreSQL plans for)."""
    name = DATABASE_URL.rsplit("/", 1)[1]
    template = os.environ.get("BENCH_HISTORY_TEMPLATE")
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if template and conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone():
            # A big past made once (make bench-history) and copied for each benchmark: a file copy.
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            return
        conn.execute(f'CREATE DATABASE "{name}"')
    for command in (["manage.py", "migrate", "--noinput", "-v0"], ["manage.py", "seed_demo"], ["-m", "bench.history"]):
        subprocess.run([sys.executable, *command], cwd=ROOT, env=env(), check=True, stdout=subprocess.DEVNULL)
    if template:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{template}" TEMPLATE "{name}"')


def drop_database(name: str) -> None:
    """Drop the database `name` if it exists (make bench-history: its template, made afresh each run)."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def vacuum() -> None:
    """VACUUM ANALYZE the benchmark database: each run starts without the dead rows of the runs before it
    (every seat change leaves a released hold, an audit row and two events behind)."""
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


class Connection:
    """One keep-alive HTTP/1.1 connection sending JSON requests (opened again if the server closes it:
    gunicorn's sync workers, compared in bench/holds.py, answer one request per connection)."""

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        self.headers = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())

    async def open(self, port: int) -> "Connection":
        self.port = port
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.closed = False
        return self

    async def request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        if self.closed:
            await self.open(self.port)
        data = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\nContent-Length: {len(data)}\r\n"
        )
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        head += self.headers
        self.writer.write(head.encode() + b"\r\n" + data)
        await self.writer.drain()
        status_line = await self.reader.readline()
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        payload = await self.reader.readexactly(length)
        if close:
            self.close()
        return int(status_line.split()[1]), json.loads(payload or b"null")

    def close(self) -> None:
        self.writer.close()
        self.closed = True


async def make_orders(port: int, flight: str, count: int, connections: int = 8) -> list[dict]:
    """`count` new orders on `flight` (each with its orderID and token), made over a few connections."""
    conns = [await Connection().open(port) for _ in range(min(connections, count))]
    made: list[dict] = []

    async def make(conn: Connection, n: int) -> None:
        for _ in range(n):
            status, body = await conn.request("POST", "/orders", {"flightID": flight})
            assert status == 201, body
            made.append(body)

    await asyncio.gather(*(make(c, count // len(conns) + (i < count % len(conns))) for i, c in enumerate(conns)))
    for conn in conns:
        conn.close()
    return made


def bench_flight(code: str) -> tuple[int, int, list[str]]:
    """A 99 x 12 flight (1,188 seats): returns its id, its first seat's id and its labels in id order."""
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "from flights.services import create_flight; from django.utils import timezone; "
            f"create_flight(code='{code}', origin='X', destination='Y', departs_at=timezone.now(), "
            "rows=99, letters='ABCDEFGHJKLM')",
        ],
        cwd=ROOT,
        env=env(),
        check=True,
    )
    with psycopg.connect(DATABASE_URL) as conn:
        flight = conn.execute("SELECT id FROM flights_flight WHERE code = %s", [code]).fetchone()
        assert flight is not None, f"no flight {code}"
        flight_id = flight[0]
        rows = conn.execute(
            "SELECT id, label FROM flights_seat WHERE flight_id = %s ORDER BY id", [flight_id]
        ).fetchall()
    return flight_id, rows[0][0], [label for _, label in rows]


def start_manage(command: str, **extra_env: str) -> subprocess.Popen:
    """A background process of the service (run_worker, run_timers) on the benchmark database."""
    return subprocess.Popen(
        [sys.executable, "manage.py", command],
        cwd=ROOT,
        env=env(**extra_env),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_web(port: int, workers: int = 1, pool: int = 10, **extra_env: str) -> subprocess.Popen:
    """uvicorn on the benchmark database, with the connection pool of Procfile.cluster (10 per process)."""
    argv = [sys.executable, "-m", "uvicorn", "seatbooking.asgi:application", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    argv += ["--no-proxy-headers", "--backlog", "4096"]
    return start_server(argv, port, env(DB_POOL_MAX_SIZE=str(pool), **extra_env))


def gunicorn_argv(port: int | str, workers: int = 2, threads: int = 1) -> list[str]:
    """gunicorn, the deployed layout's server until granian measured faster (docs/performance.md): sync
    workers, or gthread ones with threads > 1; the WSGI application as granian serves it."""
    argv = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    argv += ["--threads", str(threads), "--worker-class", "gthread" if threads > 1 else "sync", "--backlog", "2048"]
    argv += ["--log-level", "warning", "--keep-alive", "65", "--no-control-socket"]
    return [*argv, "seatbooking.wsgi:application"]


def start_gunicorn(port: int, workers: int = 4, threads: int = 1) -> subprocess.Popen:
    return start_server(gunicorn_argv(port, workers, threads), port, env())


def start_granian(port: int, interface: str, workers: int = 1, threads: int | None = None) -> subprocess.Popen:
    """granian, the ASGI application (with its pool) or the WSGI one (a connection per worker thread)."""
    target = "seatbooking.asgi:application" if interface == "asgi" else "seatbooking.wsgi:application"
    argv = [sys.executable, "-m", "granian", "--interface", interface, "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--workers", str(workers), "--log-level", "warning", "--no-ws", target]
    if threads is not None:
        argv[-1:-1] = ["--blocking-threads", str(threads)]
    return start_server(argv, port, env(DB_POOL_MAX_SIZE="10"))


def procfile_entries(names: list[str], path: str = "Procfile.cluster") -> list[str]:
    """The shell commands of `names` in a Procfile, as honcho runs them."""
    entries = dict(line.split(": ", 1) for line in (ROOT / path).read_text().splitlines() if ": " in line)
    return [entries[name] for name in names]


def start_deployed(port: int, web: list[str] | None = None, **settings: str) -> list[subprocess.Popen]:
    """The deployed layout's web side exactly as Procfile.cluster runs it: nginx on `port`, granian
    (request/response) and uvicorn (streams); with `web`, that server (its argv, listening on "$APP_PORT")
    in granian's place; `settings`: environment variables of the service (seatbooking/settings.py)."""
    ports = {"WEB_PORT": str(port), "APP_PORT": str(free_port()), "STREAMS_PORT": str(free_port())}
    extra = {**ports, "NGINX_DIR": str(RESULTS / "nginx"), **settings}
    commands = procfile_entries(["web", "streams", "nginx"])
    if web is not None:
        # As deployed: the workers' metrics in files (deploy/granian.py does the same for granian's).
        commands[0] = "exec env TRUSTED_PROXIES=${TRUSTED_PROXIES:-127.0.0.1} PROMETHEUS_MULTIPROC_DIR=$(mktemp -d) "
        commands[0] += " ".join(web)
    started = []
    for command in commands:
        started.append(
            subprocess.Popen(
                ["sh", "-c", command], cwd=ROOT, env=env(**extra), start_new_session=True, stdout=subprocess.DEVNULL
            )
        )
    try:
        for name in ("APP_PORT", "STREAMS_PORT", "WEB_PORT"):
            wait_until_serving(int(ports[name]))
    except RuntimeError:
        for process in started:
            stop(process)
        raise
    return started


def start_server(argv: list[str], port: int, environment: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(argv, cwd=ROOT, env=environment, start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        wait_until_serving(port)
    except RuntimeError:
        stop(process)
        raise
    return process


def wait_until_serving(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # One flight, not the list: GET /flights reads every flight ever offered (3 s with a past of
            # 859 flights, docs/performance.md), which is not what readiness is about.
            urllib.request.urlopen(f"http://127.0.0.1:{port}/flights/F-100", timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no server answered on port {port}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children, in KiB."""
    total = 0
    pids = [pid] + [int(p) for p in (Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def descendants(pid: int) -> list[int]:
    """The process, its children, theirs, ... (a server's workers, nginx's master in its own session)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            todo += children(current)
    return found


def machine_cpu_seconds() -> float:
    """CPU time the whole machine has been busy (all cores, all processes) so far."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def save(name: str, result: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2))
    return path


def run(name: str, main, report) -> None:
    """A benchmark's entry point: run `main()` on uvloop, print its table, save it as var/bench/<name>.json."""
    result = uvloop.run(main())
    report(result)
    print(f"  written to {save(name, result)}")


def machine() -> dict:
    return {"cores": os.cpu_count(), "python": sys.version.split()[0]}
