"""Retention soak: the service under a steady load with short retention windows; the transient tables'
row counts over time should level off while the business records (orders, audit entries) keep growing.

`make run`'s processes (uvicorn, run_worker, run_timers; no Redis: the database is the task queue) on a
fresh PostgreSQL database of their own. SOAK_CLIENTS clients loop: create an order (with an
Idempotency-Key), hold one or two random seats (others if taken), then let the hold lapse
(SEAT_HOLD_SECONDS=15), cancel, or pay. Every SOAK_SAMPLE_SECONDS the tables are vacuumed (SOAK_VACUUM=1,
as autovacuum would) and their row counts and the database's size recorded.

    SOAK_MINUTES=15 .venv/bin/python -m bench.retention_soak   (results in var/bench/retention_soak.json)
"""

import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from http.client import HTTPConnection, HTTPException
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DATABASE_URL = os.environ.get("SOAK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/seatbooking_retention_soak")
MINUTES = float(os.environ.get("SOAK_MINUTES", 15))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", 6))
SAMPLE_SECONDS = float(os.environ.get("SOAK_SAMPLE_SECONDS", 60))
# Vacuum the tables at each sample, as autovacuum would (a benchmark machine's PostgreSQL may run without it).
VACUUM = os.environ.get("SOAK_VACUUM", "1") == "1"
WINDOW_HOURS = os.environ.get("SOAK_WINDOW_HOURS", "0.05")  # 3 minutes for every transient kind
FLIGHTS = [f"SOAK-{n}" for n in range(20)]
SETTINGS = {
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": "",
    "SEAT_HOLD_SECONDS": "15",
    "PAYMENT_LATENCY_SECONDS": "0.05",
    "THROTTLE_CREATE_ORDER": "off",
    "THROTTLE_CHANGE_SEATS": "off",
    "THROTTLE_PAYMENT": "off",
    "CLIENT_HOLD_LIMIT_SEATS": "0",
    "CLIENT_OPEN_ORDERS_LIMIT": "0",
    "EVENTS_KEEP_HOURS": WINDOW_HOURS,
    "IDEMPOTENCY_KEEP_HOURS": WINDOW_HOURS,
    "RETENTION_HOLDS_HOURS": WINDOW_HOURS,
    "RETENTION_TASKS_HOURS": WINDOW_HOURS,
    "LOG_LEVEL": "WARNING",
}
TABLES = {
    "events": "django_eventstream_event",
    "event counters": "django_eventstream_eventcounter",
    "seat holds": "orders_seathold",
    "idempotency keys": "seatbooking_idempotencyrecord",
    "sessions": "django_session",
    "task rows": "django_q_task",
    "queued tasks": "django_q_ormq",
    "orders": "orders_order",
    "audit entries": "orders_auditentry",
    "payment attempts": "orders_paymentattempt",
}
SEATS = [f"{row}{letter}" for row in range(1, 31) for letter in "ABCDEF"]


def environment() -> dict[str, str]:
    return {**os.environ, **SETTINGS, "PYTHONUNBUFFERED": "1"}


def prepare() -> None:
    name = DATABASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=environment(), check=True)
    flights = (
        "import datetime as dt; from django.utils import timezone; from flights.services import create_flight\n"
        f"for code in {FLIGHTS!r}:\n"
        "    create_flight(code=code, origin='A', destination='B', departs_at=timezone.now() + dt.timedelta(days=30),"
        " rows=30, letters='ABCDEF', aisles_after='C')"
    )
    subprocess.run([sys.executable, "manage.py", "shell", "-c", flights], cwd=ROOT, env=environment(), check=True)


def start(port: int) -> list[subprocess.Popen]:
    web = [sys.executable, "-m", "uvicorn", "seatbooking.asgi:application", "--port", str(port), "--no-access-log"]
    log = (ROOT / "var" / "bench").resolve()
    log.mkdir(parents=True, exist_ok=True)
    commands = {"web": web, "worker": [sys.executable, "manage.py", "run_worker"]}
    commands["timers"] = [sys.executable, "manage.py", "run_timers"]
    return [
        subprocess.Popen(
            argv, cwd=ROOT, env=environment(), stdout=(log / f"soak-{name}.log").open("w"), stderr=subprocess.STDOUT
        )
        for name, argv in commands.items()
    ]


def call(
    conn: HTTPConnection, method: str, path: str, body: dict | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict]:
    conn.request(
        method,
        path,
        json.dumps(body) if body is not None else None,
        {"Content-Type": "application/json", **(headers or {})},
    )
    response = conn.getresponse()
    data = response.read()
    return response.status, json.loads(data) if data else {}


def client(port: int, until: float, counts: dict[str, int], lock: threading.Lock) -> None:
    conn, rng = HTTPConnection("127.0.0.1", port, timeout=30), random.Random()
    while time.monotonic() < until:
        try:
            outcome = one_order(conn, rng)
        except (OSError, ValueError, HTTPException) as exc:
            conn.close()
            conn, outcome = HTTPConnection("127.0.0.1", port, timeout=30), f"error {type(exc).__name__}"
            time.sleep(0.1)
        with lock:
            counts[outcome] = counts.get(outcome, 0) + 1


def one_order(conn: HTTPConnection, rng: random.Random) -> str:
    status, order = call(
        conn, "POST", "/orders", {"flightID": rng.choice(FLIGHTS)}, {"Idempotency-Key": str(uuid.uuid4())}
    )
    if status != 201:
        return f"create {status}"
    auth = {"Authorization": f"Bearer {order['token']}"}
    path = f"/orders/{order['orderID']}"
    changes, tries = rng.choice((1, 2)), 0  # a selection, sometimes changed once
    while changes and tries < 5:  # a seat taken (409): the traveller picks others
        status, _ = call(conn, "POST", f"{path}/seats", {"seats": rng.sample(SEATS, rng.choice((1, 2)))}, auth)
        changes, tries = changes - (status == 200), tries + 1
    if status != 200:  # gave up: leaves, cancelling (an order left PENDING keeps its channel: not transient)
        call(conn, "POST", f"{path}/cancel", None, auth)
        return f"seats {status}"
    choice = rng.random()
    if choice < 0.1:
        status, _ = call(conn, "POST", f"{path}/payment", {"code": "12345"}, auth)
        return "paid" if status == 202 else f"payment {status}"
    if choice < 0.45:
        status, _ = call(conn, "POST", f"{path}/cancel", None, auth)
        return "cancelled" if status == 200 else f"cancel {status}"
    return "left to lapse"


def wait_until_serving(port: int) -> None:
    for _ in range(300):
        try:
            call(HTTPConnection("127.0.0.1", port, timeout=5), "GET", "/flights")
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the web process did not start")


def one(conn: psycopg.Connection, statement: sql.Composed | sql.SQL) -> int:
    row = conn.execute(statement).fetchone()
    assert row is not None
    return int(row[0])


def sample(started: float) -> dict:
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        if VACUUM:
            conn.execute(sql.SQL("VACUUM {}").format(sql.SQL(", ").join(map(sql.Identifier, TABLES.values()))))
        count = sql.SQL("SELECT count(*) FROM {}")
        rows: dict[str, float] = {
            kind: one(conn, count.format(sql.Identifier(table))) for kind, table in TABLES.items()
        }
        rows["database MB"] = round(one(conn, sql.SQL("SELECT pg_database_size(current_database())")) / 2**20, 1)
    return {"minute": round((time.monotonic() - started) / 60, 1), **rows}


def main() -> None:
    prepare()
    port = 18300 + os.getpid() % 500
    processes = start(port)
    try:
        wait_until_serving(port)
        started, lock = time.monotonic(), threading.Lock()
        counts: dict[str, int] = {}
        until = started + MINUTES * 60
        threads = [threading.Thread(target=client, args=(port, until, counts, lock)) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        samples = [sample(started)]
        print(json.dumps(samples[-1]), flush=True)
        while time.monotonic() < until:
            time.sleep(min(SAMPLE_SECONDS, max(0.0, until - time.monotonic())))
            samples.append(sample(started))
            print(json.dumps(samples[-1]), flush=True)
        for thread in threads:
            thread.join()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)
    result = {"settings": SETTINGS, "clients": CLIENTS, "minutes": MINUTES, "outcomes": counts, "samples": samples}
    (ROOT / "var" / "bench" / "retention_soak.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
