"""Seat holds: over HTTP against the raw database limit, and one hot seat.

HTTP method: uvicorn with WEB_WORKERS processes on PostgreSQL + Redis; an asyncio client on the same
machine keeps C keep-alive connections busy for DURATION seconds, each with its own order alternating
between its own two seats (so every request releases one seat and holds another, on distinct seats).
Raw method: pgbench runs the same transaction (lock the seat row, release the order's hold, insert the
new hold) with the same C clients for DURATION seconds. The ratio HTTP/raw is the headline.
Hot seat: HOT_CLIENTS orders ask for the same seat at once; exactly one may win.
The web stack alone: 32 clients asking for a page that does not exist (a 404: no database work), for
DURATION / 2 seconds; the most any endpoint could do on this machine.
"""

import asyncio
import os
import re
import resource
import subprocess
import tempfile
import time

import psycopg

from bench.common import (
    DATABASE_URL,
    Connection,
    bench_flight,
    children,
    cpu_seconds,
    free_port,
    machine,
    machine_cpu_seconds,
    make_orders,
    percentile,
    prepare_database,
    run,
    start_web,
    stop,
)

LEVELS = [int(c) for c in os.environ.get("BENCH_CLIENTS", "8,32,128").split(",")]
DURATION = float(os.environ.get("BENCH_DURATION", 10))
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", 2))
HOT_CLIENTS = int(os.environ.get("BENCH_HOT_CLIENTS", 200))
FLIGHT = "BENCH-1"


async def http_holds(port: int, web_pids: list[int], clients: int, seats: list[str]) -> dict:
    orders = await make_orders(port, FLIGHT, clients)
    conns = [await Connection().open(port) for _ in range(clients)]  # fresh: idle ones are closed after 5 s
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    web_cpu, all_cpu, client_cpu = cpu_seconds(web_pids), machine_cpu_seconds(), time.process_time()
    deadline = time.perf_counter() + DURATION

    async def run(i: int, conn: Connection, order: dict) -> None:
        mine, turn = seats[2 * i : 2 * i + 2], 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, _ = await conn.request(
                "POST", f"/orders/{order['orderID']}/seats", {"seats": [mine[turn % 2]]}, order["token"]
            )
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
            turn += 1

    started = time.perf_counter()
    await asyncio.gather(*(run(i, c, o) for i, (c, o) in enumerate(zip(conns, orders, strict=False))))
    elapsed = time.perf_counter() - started
    web_cpu, all_cpu = cpu_seconds(web_pids) - web_cpu, machine_cpu_seconds() - all_cpu
    client_cpu = time.process_time() - client_cpu
    for conn in conns:
        conn.close()
    n = len(latencies)
    return {
        "clients": clients,
        "requests": n,
        "per_second": round(n / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "statuses": statuses,
        "cpu_ms_per_request": {
            "web": round(web_cpu / n * 1000, 2),
            "client": round(client_cpu / n * 1000, 2),
            "rest": round((all_cpu - web_cpu - client_cpu) / n * 1000, 2),
        },
    }  # PostgreSQL, Redis, the OS


async def web_ceiling(port: int, clients: int = 32) -> dict:
    """The web stack alone: 404s (uvicorn, Django's middleware, URL resolving; no database), as fast as it goes."""
    conns = [await Connection().open(port) for _ in range(clients)]
    count, deadline = 0, time.perf_counter() + DURATION / 2

    async def run(conn: Connection) -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            await conn.request("GET", "/bench/no-such-page")
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(run(c) for c in conns))
    for conn in conns:
        conn.close()
    return {"clients": clients, "per_second": round(count / (time.perf_counter() - started), 1)}


PGBENCH_SCRIPT = """\\set s random(0, 1)
BEGIN;
SELECT id FROM flights_seat WHERE id = :base + :client_id * 2 + :s FOR UPDATE;
UPDATE orders_seathold SET state = 'RELEASED', ended_at = now() WHERE order_id = 'pgb-' || :client_id AND state = 'HELD';
INSERT INTO orders_seathold (order_id, seat_id, state, expires_at, created_at) VALUES ('pgb-' || :client_id, :base + :client_id * 2 + :s, 'HELD', now() + interval '15 minutes', now());
COMMIT;
"""


def raw_holds(asked: int, base_seat_id: int, flight_id: int) -> dict:
    # PostgreSQL here allows 100 connections: pgbench's clients are capped below that.
    clients = min(asked, RAW_MAX_CLIENTS)
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        for i in range(clients):
            conn.execute(
                "INSERT INTO orders_order (id, flight_id, token_hash, state, payment_code, payment_attempts_used, "
                "payment_status, last_payment_error, created_at, updated_at) VALUES (%s, %s, '', 'SEATS_SELECTED', "
                "'', 0, '', '', now(), now()) ON CONFLICT (id) DO NOTHING",
                [f"pgb-{i}", flight_id],
            )
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(PGBENCH_SCRIPT)
    name = DATABASE_URL.rsplit("/", 1)[1]
    all_cpu, client_cpu = machine_cpu_seconds(), _children_cpu()
    result = subprocess.run(
        [
            "pgbench",
            "-n",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-f",
            script.name,
            "-c",
            str(clients),
            "-j",
            str(min(clients, os.cpu_count() or 2)),
            "-T",
            str(int(DURATION)),
            "-D",
            f"base={base_seat_id}",
            name,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    tps = float(_figure(r"tps = ([\d.]+)", result.stdout))
    latency = float(_figure(r"latency average = ([\d.]+) ms", result.stdout))
    transactions = int(_figure(r"number of transactions actually processed: (\d+)", result.stdout))
    all_cpu, client_cpu = machine_cpu_seconds() - all_cpu, _children_cpu() - client_cpu
    return {
        "clients": clients,
        "per_second": round(tps, 1),
        "latency_avg_ms": latency,
        "cpu_ms_per_transaction": {
            "pgbench": round(client_cpu / transactions * 1000, 2),
            "rest": round((all_cpu - client_cpu) / transactions * 1000, 2),
        },
    }


def _figure(pattern: str, output: str) -> str:
    """The number `pattern` captures in pgbench's output."""
    match = re.search(pattern, output)
    assert match, f"pgbench printed no {pattern!r}"
    return match.group(1)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


RAW_MAX_CLIENTS = int(os.environ.get("BENCH_RAW_MAX_CLIENTS", 80))


async def hot_seat(port: int) -> dict:
    orders = await make_orders(port, FLIGHT, HOT_CLIENTS)
    conns = [await Connection().open(port) for _ in range(HOT_CLIENTS)]
    start = asyncio.Event()

    async def ask(conn: Connection, order: dict):
        await start.wait()
        begun = time.perf_counter()
        status, _ = await conn.request("POST", f"/orders/{order['orderID']}/seats", {"seats": ["99L"]}, order["token"])
        return status, time.perf_counter() - begun

    tasks = [asyncio.create_task(ask(c, o)) for c, o in zip(conns, orders, strict=False)]
    await asyncio.sleep(0.2)
    start.set()
    results = await asyncio.gather(*tasks)
    for conn in conns:
        conn.close()
    statuses: dict[int, int] = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    latencies = [seconds for _, seconds in results]
    return {
        "requests": HOT_CLIENTS,
        "statuses": statuses,
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "exactly_one_winner": statuses.get(200) == 1 and statuses.get(409) == HOT_CLIENTS - 1,
    }


async def main() -> dict:
    prepare_database()
    flight_id, base_seat_id, labels = bench_flight(FLIGHT)
    # The load comes from one address: the abuse limits would measure themselves, not the service.
    os.environ.update(THROTTLE_CREATE_ORDER="off", THROTTLE_CHANGE_SEATS="off")
    port = free_port()
    server = start_web(port, workers=WEB_WORKERS)
    try:
        # Each level on seats of its own: the previous level's orders still hold theirs.
        starts = [2 * sum(LEVELS[:i]) for i in range(len(LEVELS))]
        web_pids = [server.pid, *children(server.pid)]
        http = [await http_holds(port, web_pids, c, labels[start:]) for c, start in zip(LEVELS, starts, strict=False)]
        hot = await hot_seat(port)
        ceiling = await web_ceiling(port)
    finally:
        stop(server)
    # The raw run uses seats after the HTTP runs', which are still held.
    raw = [raw_holds(c, base_seat_id + 2 * sum(LEVELS), flight_id) for c in LEVELS]
    for h, r in zip(http, raw, strict=False):
        h["ratio_to_raw"] = round(h["per_second"] / r["per_second"], 3)
    ceiling["ratio_to_raw"] = round(ceiling["per_second"] / max(r["per_second"] for r in raw), 3)
    return {
        "machine": machine(),
        "server": f"uvicorn, {WEB_WORKERS} processes, PostgreSQL + Redis",
        "duration_s": DURATION,
        "http": http,
        "raw": raw,
        "hot_seat": hot,
        "web_ceiling": ceiling,
        "method": __doc__.strip(),
    }


def report(result: dict) -> None:
    print(
        f"Seat holds ({result['server']}, {result['machine']['cores']} cores, load on the same machine, "
        f"{result['duration_s']:g} s per level)"
    )
    print(
        f"  {'clients':>8} {'HTTP/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'not 200':>8} {'raw/s':>9} {'(clients)':>9} "
        f"{'HTTP/raw':>9}"
    )
    for h, r in zip(result["http"], result["raw"], strict=False):
        refused = h["requests"] - h["statuses"].get(200, 0)
        print(
            f"  {h['clients']:>8} {h['per_second']:>9} {h['p50_ms']:>8} {h['p99_ms']:>8} {refused:>8} {r['per_second']:>9} "
            f"{r['clients']:>9} {h['ratio_to_raw']:>9.3f}"
        )
    print("  CPU per seat hold, ms (the rest: PostgreSQL, Redis, the OS; measured over the whole machine)")
    for h, r in zip(result["http"], result["raw"], strict=False):
        web, raw = h["cpu_ms_per_request"], r["cpu_ms_per_transaction"]
        print(
            f"  {h['clients']:>8} clients: HTTP: web {web['web']}, client {web['client']}, rest {web['rest']}; "
            f"raw: pgbench {raw['pgbench']}, rest {raw['rest']}"
        )
    ceiling = result["web_ceiling"]
    print(
        f"  the web stack alone (404s, no database): {ceiling['per_second']}/s at {ceiling['clients']} clients, "
        f"{ceiling['ratio_to_raw']} of the best raw rate"
    )
    hot = result["hot_seat"]
    print(
        f"  hot seat: {hot['requests']} at once -> {hot['statuses']}, exactly one winner: "
        f"{hot['exactly_one_winner']}, p99 {hot['p99_ms']} ms"
    )


if __name__ == "__main__":
    run("holds", main, report)
