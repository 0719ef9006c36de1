"""Expiry lateness and payment latency, end to end: from the deadline or the submit to the event on the stream.

Processes: the deployed layout's web side as Procfile.cluster runs it (nginx in front of granian for
requests and uvicorn for the streams), one django-q2 cluster (Q_WORKERS workers) and one timer loop, on
PostgreSQL + Redis, as in production: with REDIS_URL set the task broker is Redis (a worker blocks on the
queue). BENCH_FLOW_LAYOUT=embedded measures `make run`'s processes instead (one uvicorn process for
everything; no Redis: the database broker, polled every 0.1 s, and event delivery by polling the table),
on PostgreSQL still, so that the two differ only in the processes and Redis.
Every order has its own stream open (GET /orders/{id}/events), read by an asyncio client on the same
machine (one clock for all).

Expiry: EXPIRY_ORDERS orders each hold a seat (over HTTP, one request each); then their deadlines are set
in one statement to the same instant, 2 s ahead, so that all fall due together. Lateness = arrival of
the order's EXPIRED status event - that deadline.
Payment: PAYMENT_ORDERS orders each hold a seat; P clients submit their payments one after another
(POST /orders/{id}/payment) with the simulated gateway answering in 25-75 ms and never failing; once
for each P in BENCH_PAYERS (2: a load this machine carries with room to spare; 8: one that saturates
its 2 cores). Latency = arrival of the CONFIRMED status event - the submit being sent.
"""

import asyncio
import json
import os
import time

import psycopg

from bench.common import (
    DATABASE_URL,
    Connection,
    bench_flight,
    free_port,
    machine,
    make_orders,
    percentile,
    prepare_database,
    run,
    start_deployed,
    start_manage,
    start_web,
    stop,
)

EXPIRY_ORDERS = int(os.environ.get("BENCH_EXPIRY_ORDERS", 500))
PAYMENT_ORDERS = int(os.environ.get("BENCH_PAYMENT_ORDERS", 200))
# Payers at once: a load the machine carries with room to spare, then one that saturates its 2 cores.
PAYER_LEVELS = [int(n) for n in os.environ.get("BENCH_PAYERS", "2,8").split(",")]
LAYOUT = os.environ.get("BENCH_FLOW_LAYOUT", "deployed")
Q_WORKERS = int(os.environ.get("BENCH_Q_WORKERS", 8))
GATEWAY_LATENCY_SECONDS = 0.05
DUE_IN_SECONDS = 2.0
FLIGHT = "BENCH-2"
STREAM_BATCH = int(os.environ.get("BENCH_STREAM_BATCH", 100))  # streams opened at once


class OrderStream(asyncio.Protocol):
    """One order's event stream: records when each state first arrives."""

    def __init__(self, order: dict) -> None:
        self.order = order
        self.buffer = b""
        self.arrived: dict[str, float] = {}  # state -> first arrival (time.time())
        self.changed = asyncio.Event()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(
            f"GET /orders/{self.order['orderID']}/events?token={self.order['token']} HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.buffer += data
        *events, self.buffer = self.buffer.split(b"\n\n")
        for event in events:
            for line in event.split(b"\n"):
                if line.startswith(b"data: {"):
                    state = json.loads(line[6:]).get("State")
                    self.arrived.setdefault(state, now)
                    self.changed.set()

    async def wait_for(self, state: str, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while state not in self.arrived and time.monotonic() < deadline:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        return self.arrived.get(state)

    def close(self) -> None:
        if self.transport:
            self.transport.close()


async def open_streams(port: int, orders: list[dict]) -> list[OrderStream]:
    """A stream per order, opened STREAM_BATCH at a time as bench/streams.py does: all at once, the opens
    queue in the streams process, and past WEB_MAX_WAIT_SECONDS it refuses them with 503, as designed
    (on this machine it opened about 125 streams/s in a burst of 500, on a slow day)."""
    loop = asyncio.get_running_loop()
    streams = [OrderStream(order) for order in orders]
    for start in range(0, len(streams), STREAM_BATCH):
        batch = streams[start : start + STREAM_BATCH]
        for stream in batch:
            await loop.create_connection(lambda s=stream: s, "127.0.0.1", port)  # type: ignore[misc]  # mypy cannot infer a lambda with a default
        for stream in batch:  # the first event is the current status
            assert await stream.wait_for("PENDING", 30), "a stream did not open"
    return streams


async def hold_one_seat_each(port: int, orders: list[dict], labels: list[str], connections: int = 8) -> None:
    conns = [await Connection().open(port) for _ in range(connections)]
    pending = list(zip(orders, labels, strict=False))

    async def work(conn: Connection) -> None:
        while pending:
            order, label = pending.pop()
            status, body = await conn.request(
                "POST", f"/orders/{order['orderID']}/seats", {"seats": [label]}, order["token"]
            )
            assert status == 200, body

    await asyncio.gather(*(work(c) for c in conns))
    for conn in conns:
        conn.close()


def _summary(latencies: list[float], asked: int) -> dict:
    return {
        "count": asked,
        "arrived": len(latencies),
        "p50_s": round(percentile(latencies, 50), 3),
        "p99_s": round(percentile(latencies, 99), 3),
        "max_s": round(max(latencies), 3) if latencies else None,
    }


async def expiry(port: int, labels: list[str]) -> dict:
    orders = await make_orders(port, FLIGHT, EXPIRY_ORDERS)
    streams = await open_streams(port, orders)
    await hold_one_seat_each(port, orders, labels[:EXPIRY_ORDERS])
    ids = [o["orderID"] for o in orders]
    with psycopg.connect(DATABASE_URL) as conn:  # one transaction: all fall due at the same instant
        row = conn.execute("SELECT now() + make_interval(secs => %s)", [DUE_IN_SECONDS]).fetchone()
        assert row is not None
        due = row[0]
        conn.execute("UPDATE orders_order SET hold_expires_at = %s WHERE id = ANY(%s)", [due, ids])
        conn.execute(
            "UPDATE orders_seathold SET expires_at = %s WHERE order_id = ANY(%s) AND state = 'HELD'", [due, ids]
        )
    arrivals = await asyncio.gather(*(s.wait_for("EXPIRED", DUE_IN_SECONDS + 15) for s in streams))
    for stream in streams:
        stream.close()
    return _summary([at - due.timestamp() for at in arrivals if at], EXPIRY_ORDERS)


async def payments(port: int, labels: list[str], payers: int) -> dict:
    orders = await make_orders(port, FLIGHT, PAYMENT_ORDERS)
    streams = await open_streams(port, orders)
    await hold_one_seat_each(port, orders, labels[:PAYMENT_ORDERS])
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    queue = list(streams)

    async def payer() -> None:
        conn = await Connection().open(port)
        while queue:
            stream = queue.pop()
            sent = time.time()
            status, body = await conn.request(
                "POST", f"/orders/{stream.order['orderID']}/payment", {"code": "12345"}, stream.order["token"]
            )
            assert status == 202, body
            confirmed = await stream.wait_for("CONFIRMED", 30)
            if confirmed:
                latencies.append(confirmed - sent)
            final = (
                "CONFIRMED" if confirmed else next((s for s in ("FAILED", "EXPIRED") if s in stream.arrived), "none")
            )
            outcomes[final] = outcomes.get(final, 0) + 1
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(payer() for _ in range(payers)))
    elapsed = time.perf_counter() - started
    for stream in streams:
        stream.close()
    return {
        **_summary(latencies, PAYMENT_ORDERS),
        "payers": payers,
        "outcomes": outcomes,
        "per_second": round(len(latencies) / elapsed, 1),
    }


async def main() -> dict:
    prepare_database()
    _flight_id, _first_seat, labels = bench_flight(FLIGHT)
    os.environ.update(THROTTLE_CREATE_ORDER="off", THROTTLE_CHANGE_SEATS="off", THROTTLE_PAYMENT="off")
    os.environ.update(CLIENT_HOLD_LIMIT_SEATS="0", CLIENT_OPEN_ORDERS_LIMIT="0")  # one address: all the load
    port = free_port()
    no_redis = {"REDIS_URL": ""} if LAYOUT == "embedded" else {}
    web = [start_web(port, workers=1, REDIS_URL="")] if LAYOUT == "embedded" else start_deployed(port)
    worker = start_manage(
        "run_worker",
        Q_WORKERS=str(Q_WORKERS),
        PAYMENT_FAILURE_RATE="0",
        PAYMENT_LATENCY_SECONDS=str(GATEWAY_LATENCY_SECONDS),
        **no_redis,
    )
    timers = start_manage("run_timers", **no_redis)
    try:
        expired = await expiry(port, labels)
        paid = []
        for i, payers in enumerate(PAYER_LEVELS):  # each level on seats of its own
            start = EXPIRY_ORDERS + i * PAYMENT_ORDERS
            paid.append(await payments(port, labels[start : start + PAYMENT_ORDERS], payers))
    finally:
        for process in (*web, worker, timers):
            stop(process)
    return {
        "machine": machine(),
        "processes": (
            "make run's: 1 uvicorn process, 1 django-q2 cluster of {q} workers (database broker), 1 timer loop; "
            "PostgreSQL, no Redis"
            if LAYOUT == "embedded"
            else "deployed: nginx, granian and uvicorn; 1 django-q2 cluster of {q} workers (Redis broker), "
            "1 timer loop; PostgreSQL + Redis"
        ).format(q=Q_WORKERS),
        "expiry": expired,
        "payment": paid,
        "method": __doc__.strip(),
    }


def report(result: dict) -> None:
    e = result["expiry"]
    print(f"Expiry and payment ({result['processes']}, {result['machine']['cores']} cores, client on the same machine)")
    print(
        f"  expiry lateness, {e['count']} holds due at once: p50 {e['p50_s']} s, p99 {e['p99_s']} s, max {e['max_s']} s "
        f"({e['arrived']} of {e['count']} EXPIRED events arrived)"
    )
    for p in result["payment"]:
        print(
            f"  payment, submit to CONFIRMED event ({GATEWAY_LATENCY_SECONDS * 1000:g} ms gateway, {p['payers']} payers): "
            f"p50 {p['p50_s']} s, p99 {p['p99_s']} s, {p['per_second']}/s; outcomes {p['outcomes']}"
        )


if __name__ == "__main__":
    run("flow" if LAYOUT == "deployed" else f"flow-{LAYOUT}", main, report)
