"""Seat holds: the serving layouts compared, the deployed one against the raw database limit, one hot seat.

HTTP method: an asyncio client on the same machine keeps C keep-alive connections busy for DURATION
seconds, each with its own order alternating between its own two seats (so every request releases one
seat and holds another, on distinct seats), against each serving layout in turn, started afresh on
PostgreSQL + Redis: uvicorn (ASGI; 1 and 2 processes, pool 10 each), gunicorn (WSGI; 2 and 4 sync workers,
and 4 gthread workers of 4 threads; a persistent connection per thread), granian (ASGI and WSGI, 2
workers; and WSGI with 2 and 4 workers of one thread each), gunicorn's sync workers (one per core) behind the
deployed nginx (the deployed layout before granian), and the deployed layout exactly as Procfile.cluster runs it
(nginx in front of granian's WSGI workers, deploy/granian.py, with the event streams' uvicorn idle beside it),
and that layout twice more with a simpler path, to show what each faster one is worth: the seat changes
written by the ORM's statements instead of one statement, and answered by DRF's view instead of the lean path. Web CPU per hold: user + system time of the layout's processes (nginx
included) over the holds made. The database is vacuumed before each layout and before the raw runs, so
that none pays for the dead rows of the runs before it.
Raw method: pgbench runs the same transaction (lock the seat row, release the order's hold, insert the
new hold) with the same C clients for DURATION seconds. The ratio HTTP/raw of the deployed layout is the
headline.
Hot seat: HOT_CLIENTS orders ask for the same seat at once through the deployed layout; exactly one may win.
The web stack alone: 32 clients asking the deployed layout for a page that does not exist (a 404: no
database work), for DURATION / 2 seconds; the most any endpoint could do on this machine.
"""

import asyncio
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

from bench.common import (
    DATABASE_URL,
    ROOT,
    Connection,
    bench_flight,
    cpu_seconds,
    descendants,
    env,
    free_port,
    machine,
    machine_cpu_seconds,
    make_orders,
    percentile,
    prepare_database,
    run,
    start_deployed,
    stop,
    vacuum,
)
from bench.holds_layouts import CLIENT_HEADERS, DEPLOYED, LAYOUTS
from bench.holds_report import report, simpler_paths

LEVELS = [int(c) for c in os.environ.get("BENCH_CLIENTS", "8,32").split(",")]
DURATION = float(os.environ.get("BENCH_DURATION", 8))
CHOSEN = [name for name in os.environ.get("BENCH_LAYOUTS", ",".join(LAYOUTS)).split(",") if name]
HOT_CLIENTS = int(os.environ.get("BENCH_HOT_CLIENTS", 200))
FLIGHT = "BENCH-1"


async def http_holds(port: int, web_pids: list[int], clients: int, seats: list[str], headers: dict) -> dict:
    orders = await make_orders(port, FLIGHT, clients)
    conns = [await Connection(headers).open(port) for _ in range(clients)]  # fresh: idle ones close after 5 s
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
    # Through the ORM, so that every column the model has gets its default.
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "from orders.models import Order; Order.objects.bulk_create([Order(id=f'pgb-{i}', "
            f"flight_id={flight_id}, token_hash='', state='SEATS_SELECTED') for i in range({clients})], "
            "ignore_conflicts=True)",
        ],
        cwd=ROOT,
        env=env(),
        check=True,
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


async def compare(layout: str, seats: list[str]) -> list[dict]:
    """Each level against a fresh start of the layout, on seats of its own; a layout that fails is noted."""
    vacuum()
    port = free_port()
    try:
        processes = LAYOUTS[layout](port)
    except RuntimeError as error:
        return [{"layout": layout, "clients": c, "error": str(error)} for c in LEVELS]
    try:
        web_pids = [pid for process in processes for pid in descendants(process.pid)]
        results = []
        for clients, start in zip(LEVELS, seat_offsets(), strict=True):
            try:
                results.append(
                    {
                        "layout": layout,
                        **await http_holds(port, web_pids, clients, seats[start:], CLIENT_HEADERS.get(layout, {})),
                    }
                )
            except (OSError, AssertionError, ValueError, asyncio.IncompleteReadError) as error:
                results.append({"layout": layout, "clients": clients, "error": repr(error)[:200]})
        return results
    finally:
        for process in processes:
            stop(process)


def seat_offsets() -> list[int]:
    return [2 * sum(LEVELS[:i]) for i in range(len(LEVELS))]


async def deployed_extras() -> tuple[dict, dict]:
    port = free_port()
    processes = start_deployed(port)
    try:
        return await hot_seat(port), await web_ceiling(port)
    finally:
        for process in processes:
            stop(process)


async def main() -> dict:
    prepare_database()
    flight_id, base_seat_id, labels = bench_flight(FLIGHT)
    # The load comes from one address: the abuse limits would measure themselves, not the service.
    os.environ.update(THROTTLE_CREATE_ORDER="off", THROTTLE_CHANGE_SEATS="off")
    os.environ.update(CLIENT_HOLD_LIMIT_SEATS="0", CLIENT_OPEN_ORDERS_LIMIT="0")
    per_layout = 2 * sum(LEVELS)
    assert per_layout * (len(CHOSEN) + 1) < len(labels) - 12, "not enough seats: fewer layouts or clients"
    comparison = []
    for i, layout in enumerate(CHOSEN):  # each layout on seats of its own: earlier orders still hold theirs
        comparison += await compare(layout, labels[i * per_layout : (i + 1) * per_layout])
    hot, ceiling = await deployed_extras()
    # The raw run uses seats after the HTTP runs', which are still held.
    vacuum()
    raw = [raw_holds(c, base_seat_id + per_layout * len(CHOSEN), flight_id) for c in LEVELS]
    http = [row for row in comparison if row["layout"] == DEPLOYED and "error" not in row]
    for h, r in zip(http, raw, strict=False):
        h["ratio_to_raw"] = round(h["per_second"] / r["per_second"], 3)
    ceiling["ratio_to_raw"] = round(ceiling["per_second"] / max(r["per_second"] for r in raw), 3)
    return {
        "machine": machine(),
        "server": f"{DEPLOYED}, PostgreSQL + Redis",
        "simpler_paths": simpler_paths(comparison, LEVELS),
        "duration_s": DURATION,
        "comparison": comparison,
        "http": http,
        "raw": raw,
        "hot_seat": hot,
        "web_ceiling": ceiling,
        "method": __doc__.strip(),
    }


if __name__ == "__main__":
    run("holds", main, report)
