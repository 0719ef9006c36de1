"""A flash sale against `make run` on PostgreSQL with default settings: 1,000 seat changes at once.

Processes: exactly the Procfile's (one uvicorn, run_worker, run_timers), each command line as written
there, with DATABASE_URL (the benchmark's own PostgreSQL database) and nothing else set: no pool size,
no thread count, no Redis, default throttles.
Orders: BURST orders, each with its own seat, made first over HTTP; every order comes from its own
client address (127.1.x.y: a flash sale is many people, and the per-address throttles stay as they are).
Expiry during the burst: EXPIRY orders each hold a seat and keep their stream open
(GET /orders/{id}/events, as bench/flow.py does); their deadlines are then set (one statement) to fall
due one by one from DUE_FROM to DUE_TO seconds after the burst is fired. Lateness = arrival of the
order's EXPIRED event on its stream - its deadline.
Burst: BURST keep-alive connections are opened first, then each sends one POST /orders/{id}/seats at
the same instant. Latency = from that instant to the whole answer. Every answer must be 200, 409, 429
or 503 with Retry-After; anything else is counted under "other" (the acceptance wants 0 of it).
While the burst runs, the database connections are counted per process kind (application_name).
"""

import asyncio
import json
import os
import re
import subprocess
import time
import urllib.request
from dataclasses import dataclass

import psycopg

from bench.common import (
    DATABASE_URL,
    ROOT,
    bench_flight,
    cpu_seconds,
    free_port,
    machine,
    percentile,
    prepare_database,
    run,
    stop,
)
from bench.flow import OrderStream

BURST = int(os.environ.get("BENCH_BURST", 1000))
EXPIRY = int(os.environ.get("BENCH_BURST_EXPIRY", 100))
DUE_FROM, DUE_TO = 0.5, 2.5
FLIGHT = "BURST-1"
ALLOWED = {200, 409, 429}
# Settings the run must not inherit from the caller's environment: it measures the defaults.
NOT_INHERITED = ("DB_POOL_MAX_SIZE", "WEB_THREADS", "WEB_MAX_WAIT_SECONDS", "REDIS_URL", "Q_BROKER", "DB_POOL_TIMEOUT")


def address(i: int) -> str:
    """The i-th client's own address: 127.1.0.1, 127.1.0.2, ... (all of 127/8 is the loopback)."""
    return f"127.1.{i // 250}.{i % 250 + 1}"


def service_env(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED and not k.startswith("THROTTLE_")}
    return {**env, "DATABASE_URL": DATABASE_URL, "WEB_PORT": str(port), "LOG_LEVEL": "WARNING"}


def start_procfile(port: int) -> dict[str, subprocess.Popen]:
    """Each Procfile line, as honcho runs it (`make run`), in a process group of its own."""
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if match := re.match(r"^(\w+):\s*(.+)$", line):
            processes[match[1]] = subprocess.Popen(
                ["/bin/sh", "-c", match[2]],
                cwd=ROOT,
                env=service_env(port),
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=open(ROOT / "var" / "bench" / f"burst-{match[1]}.log", "w"),  # noqa: SIM115 - the child keeps it
            )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/flights", timeout=2).read()
            return processes
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the web server did not start")


class Client:
    """One keep-alive connection from its own address; `request` returns status, Retry-After, body."""

    async def open(self, port: int, source: str) -> "Client":
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        return self

    async def request(self, method: str, path: str, body: bytes = b"", token: str | None = None):
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\nContent-Length: {len(body)}\r\n"
        )
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status = int((await self.reader.readline()).split()[1])
        length, retry_after = 0, None
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"retry-after":
                retry_after = value.strip().decode()
        return status, retry_after, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def make_orders(port: int, first: int, count: int) -> list[dict]:
    """`count` orders, the i-th from address(first + i), 16 at a time."""
    made: list[dict] = [{} for _ in range(count)]
    queue = list(range(count))

    async def work() -> None:
        while queue:
            i = queue.pop()
            client = await Client().open(port, address(first + i))
            status, _, body = await client.request("POST", "/orders", json.dumps({"flightID": FLIGHT}).encode())
            client.close()
            assert status == 201, (status, body)
            made[i] = json.loads(body)

    await asyncio.gather(*(work() for _ in range(16)))
    return made


def count_connections() -> dict[str, int]:
    name = DATABASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT coalesce(application_name, ''), count(*) FROM pg_stat_activity WHERE datname = %s GROUP BY 1",
            [name],
        ).fetchall()
    return {app.removeprefix("seatbooking ") or "other": n for app, n in rows if app != "bench"}


async def open_expiring_orders(port: int, labels: list[str]) -> list[OrderStream]:
    """EXPIRY orders whose holds will fall due during the burst, each holding its seat, each stream open."""
    expiring = await make_orders(port, BURST, EXPIRY)
    loop = asyncio.get_running_loop()
    streams = [OrderStream(order) for order in expiring]
    for stream in streams:
        await loop.create_connection(lambda s=stream: s, "127.0.0.1", port)  # type: ignore[misc]  # a lambda with a default
    for stream in streams:
        assert await stream.wait_for("PENDING", 30), "a stream did not open"
    for i, order in enumerate(expiring):
        client = await Client().open(port, address(BURST + i))
        body = json.dumps({"seats": [labels[BURST + i]]}).encode()
        status, _, answer = await client.request("POST", f"/orders/{order['orderID']}/seats", body, order["token"])
        client.close()
        assert status == 200, answer
    return streams


def bring_deadlines_forward(orders: list[dict]) -> dict[str, float]:
    """Set the orders' deadlines (one transaction) to fall due one by one from DUE_FROM to DUE_TO seconds
    from now, by the database's clock. Returns each order's deadline (epoch seconds)."""
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute("SET application_name = 'bench'")
        row = conn.execute("SELECT now()").fetchone()
        assert row is not None
        fired_at_db = row[0]
        step = (DUE_TO - DUE_FROM) / max(1, EXPIRY - 1)
        dues = {o["orderID"]: fired_at_db.timestamp() + DUE_FROM + i * step for i, o in enumerate(orders)}
        with conn.transaction():
            for order_id, due in dues.items():
                conn.execute(
                    "UPDATE orders_order SET hold_expires_at = to_timestamp(%s) WHERE id = %s", [due, order_id]
                )
                conn.execute(
                    "UPDATE orders_seathold SET expires_at = to_timestamp(%s) WHERE order_id = %s AND state = 'HELD'",
                    [due, order_id],
                )
    return dues


@dataclass
class Burst:
    answers: list[tuple[int, str | None, float]]  # status, Retry-After, seconds from the instant it was fired
    connections: list[dict[str, int]]  # the database's connections per process kind, every 0.2 s meanwhile
    seconds: float  # until the last answer
    web_cpu: float  # the web process's CPU seconds meanwhile


async def fire(clients: list[Client], orders: list[dict], labels: list[str], *, web_pid: int) -> Burst:
    """Every client sends its order's seat change at the same instant; all answers are awaited."""
    answers: list[tuple[int, str | None, float]] = []
    connections: list[dict[str, int]] = []
    web_cpu = cpu_seconds([web_pid])
    fired = time.perf_counter()

    async def change(client: Client, order: dict, label: str) -> None:
        body = json.dumps({"seats": [label]}).encode()
        status, retry_after, _ = await client.request("POST", f"/orders/{order['orderID']}/seats", body, order["token"])
        answers.append((status, retry_after, time.perf_counter() - fired))

    async def sample() -> None:
        while len(answers) < BURST:
            connections.append(await asyncio.to_thread(count_connections))
            await asyncio.sleep(0.2)

    sampler = asyncio.ensure_future(sample())
    await asyncio.gather(*(change(c, o, labels[i]) for i, (c, o) in enumerate(zip(clients, orders, strict=True))))
    seconds = time.perf_counter() - fired
    web_cpu = cpu_seconds([web_pid]) - web_cpu
    await sampler
    return Burst(answers, connections, seconds, web_cpu)


async def main() -> dict:
    prepare_database()
    _flight_id, _first_seat, labels = bench_flight(FLIGHT)
    assert len(labels) >= BURST + EXPIRY
    port = free_port()
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    processes = start_procfile(port)
    try:
        streams = await open_expiring_orders(port, labels)
        # The burst's orders, then one open connection each.
        orders = await make_orders(port, 0, BURST)
        clients = await asyncio.gather(*(Client().open(port, address(i)) for i in range(BURST)))
        await asyncio.sleep(1)  # let the server settle after accepting them
        dues = bring_deadlines_forward([stream.order for stream in streams])
        burst = await fire(clients, orders, labels, web_pid=processes["web"].pid)
        arrivals = await asyncio.gather(*(s.wait_for("EXPIRED", DUE_TO + 15) for s in streams))
        for client in clients:
            client.close()
        for stream in streams:
            stream.close()
    finally:
        for process in processes.values():
            stop(process)
    lateness = [at - dues[s.order["orderID"]] for s, at in zip(streams, arrivals, strict=True) if at]
    return summary(burst, lateness)


def summary(burst: Burst, lateness: list[float]) -> dict:
    """The run's result: answers by status, latencies, web CPU, expiry lateness, peak connections."""
    statuses: dict[str, int] = {}
    for status, retry_after, _ in burst.answers:
        key = f"{status}" + (" with Retry-After" if status == 503 and retry_after else "")
        statuses[key] = statuses.get(key, 0) + 1
    other = sum(n for key, n in statuses.items() if key not in {"200", "409", "429", "503 with Retry-After"})
    latencies = [seconds for *_, seconds in burst.answers]
    ok = [seconds for status, _, seconds in burst.answers if status == 200]
    peak: dict[str, int] = {}
    for sample in burst.connections:
        for kind, n in sample.items():
            peak[kind] = max(peak.get(kind, 0), n)
    return {
        "method": __doc__,
        "machine": machine(),
        "requests": BURST,
        "statuses": statuses,
        "other_answers": other,
        "seconds": round(burst.seconds, 2),
        "p50_ms": round(percentile(latencies, 50) * 1000),
        "p99_ms": round(percentile(latencies, 99) * 1000),
        "p99_ms_of_200": round(percentile(ok, 99) * 1000) if ok else None,
        "web_cpu_ms_per_request": round(burst.web_cpu / BURST * 1000, 2),
        "expiry": {
            "orders": EXPIRY,
            "arrived": len(lateness),
            "due_from_s": DUE_FROM,
            "due_to_s": DUE_TO,
            "p50_s": round(percentile(lateness, 50), 3),
            "p99_s": round(percentile(lateness, 99), 3),
            "max_s": round(max(lateness), 3) if lateness else None,
        },
        "peak_connections": peak,
        "acceptance": {
            "no_other_answers": other == 0,
            "expiry_p99_at_most_1s": bool(lateness) and len(lateness) == EXPIRY and percentile(lateness, 99) <= 1,
        },
    }


def report(result: dict) -> None:
    e = result["expiry"]
    print(f"\nburst: {result['requests']} seat changes at once against the Procfile's processes, default settings")
    print(f"  answers:      {result['statuses']}  (other: {result['other_answers']})")
    print(
        f"  latency:      p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms (200s: p99 {result['p99_ms_of_200']} ms);"
        f" all answered in {result['seconds']} s; web CPU {result['web_cpu_ms_per_request']} ms per request"
    )
    print(
        f"  expiry:       {e['arrived']}/{e['orders']} EXPIRED events, due {e['due_from_s']}-{e['due_to_s']} s into"
        f" the burst: lateness p50 {e['p50_s']} s, p99 {e['p99_s']} s, max {e['max_s']} s"
    )
    print(f"  connections:  peak per process kind {result['peak_connections']}")
    print(f"  acceptance:   {result['acceptance']}")


if __name__ == "__main__":
    run("burst", main, report)
