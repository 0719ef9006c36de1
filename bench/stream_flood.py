"""A flood of event streams opening at once, from many addresses: what it does to an ordinary request.

Method: one uvicorn process on PostgreSQL + Redis, trusting 127.0.0.1 as its proxy (TRUSTED_PROXIES), so
that each stream's X-Forwarded-For is its client's address. An asyncio client on the same machine opens
FLOOD_STREAMS streams of GET /flights/F-100/events at once, FLOOD_PER_ADDRESS from each address, while
another connection sends GET /flights one after another (a pause of 50 ms between them) from an address
of its own. Reported: the GET's time (p50, p99, max) before and during the flood, how the streams ended
(open, refused with 429 or 503, failed), how long the flood took to settle, and the server's resident
memory and threads with the streams open.

    python -m bench.stream_flood    (BENCH_FLOOD_STREAMS=1000, BENCH_FLOOD_PER_ADDRESS=5,
                                     BENCH_STREAMS_PER_ADDRESS=50: the server's cap, 0 for none)
"""

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from bench.common import (
    DATABASE_URL,
    PG_ADMIN_URL,
    ROOT,
    Connection,
    env,
    free_port,
    machine,
    percentile,
    rss_kib,
    run,
    start_web,
    stop,
)

FLOOD_STREAMS = int(os.environ.get("BENCH_FLOOD_STREAMS", 1000))
FLOOD_PER_ADDRESS = int(os.environ.get("BENCH_FLOOD_PER_ADDRESS", 5))
# The service's default cap (bench/common.py turns it off for the other benchmarks); 0: off.
STREAMS_PER_ADDRESS = int(os.environ.get("BENCH_STREAMS_PER_ADDRESS", 50))
PAUSE_SECONDS = 0.05


class FloodStream(asyncio.Protocol):
    """One stream from `address`; `ended` gets 'open' once its first event arrived, else its status."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.ended: asyncio.Future = asyncio.get_running_loop().create_future()
        self.buffer = b""

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(
            b"GET /flights/F-100/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
            + f"X-Forwarded-For: {self.address}\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        if self.ended.done():
            return
        self.buffer += data
        if b"\r\n" in self.buffer and not self.buffer.startswith(b"HTTP/1.1 200"):
            self.ended.set_result(self.buffer.split(b" ", 2)[1].decode())
        elif b"event: availability" in self.buffer:
            self.ended.set_result("open")
            self.buffer = b""

    def connection_lost(self, exc) -> None:
        if not self.ended.done():
            self.ended.set_result("failed")

    def close(self) -> None:
        if self.transport:
            self.transport.close()


async def open_one(port: int, stream: FloodStream) -> str:
    loop = asyncio.get_running_loop()
    try:
        await loop.create_connection(lambda: stream, "127.0.0.1", port)
        return await asyncio.wait_for(stream.ended, 120)
    except (OSError, TimeoutError):
        return "failed"


async def sample(port: int, until: asyncio.Event) -> tuple[list[float], int]:
    """GET /flights, one after another, until `until` is set: their times in seconds, and how many were
    not answered 200."""
    conn = await Connection({"X-Forwarded-For": "192.0.2.250"}).open(port)
    times, refused = [], 0
    while not until.is_set():
        started = time.perf_counter()
        status, _ = await conn.request("GET", "/flights")
        times.append(time.perf_counter() - started)
        refused += status != 200
        await asyncio.sleep(PAUSE_SECONDS)
    conn.close()
    return times, refused


def prepare_database() -> None:
    """A fresh database with the demo flights: a flood of openings needs no past."""
    name = DATABASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env(), check=True, stdout=subprocess.DEVNULL
        )


def threads_of(pid: int) -> int:
    return int(
        next(
            line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("Threads:")
        ).split()[1]
    )


def summary(sampled: tuple[list[float], int]) -> dict:
    times, refused = sampled
    return {
        "requests": len(times),
        "not_200": refused,
        "p50_s": round(percentile(times, 50), 4),
        "p99_s": round(percentile(times, 99), 4),
        "max_s": round(max(times), 4) if times else None,
    }


async def main() -> dict:
    prepare_database()
    port = free_port()
    server = start_web(port, TRUSTED_PROXIES="127.0.0.1", STREAMS_PER_ADDRESS=str(STREAMS_PER_ADDRESS))
    try:
        quiet = asyncio.Event()
        baseline = asyncio.create_task(sample(port, quiet))
        await asyncio.sleep(3)
        quiet.set()
        before = await baseline
        rss_before, threads_before = rss_kib(server.pid), threads_of(server.pid)

        settled = asyncio.Event()
        during_task = asyncio.create_task(sample(port, settled))
        await asyncio.sleep(0.2)
        streams = [
            FloodStream(f"10.{n // FLOOD_PER_ADDRESS // 250}.{n // FLOOD_PER_ADDRESS % 250}.1")
            for n in range(FLOOD_STREAMS)
        ]
        started = time.perf_counter()
        outcomes = await asyncio.gather(*(open_one(port, s) for s in streams))
        settled_in = time.perf_counter() - started
        rss_after, threads_after = rss_kib(server.pid), threads_of(server.pid)
        settled.set()
        during = await during_task
        for stream in streams:
            stream.close()
    finally:
        stop(server)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    return {
        "machine": machine(),
        "server": "1 uvicorn process (pool of 10 connections), PostgreSQL + Redis",
        "streams": FLOOD_STREAMS,
        "per_address": FLOOD_PER_ADDRESS,
        "cap_per_address": STREAMS_PER_ADDRESS,
        "outcomes": counts,
        "settled_in_s": round(settled_in, 2),
        "get_flights_before": summary(before),
        "get_flights_during": summary(during),
        "server_rss_mib": [round(rss_before / 1024, 1), round(rss_after / 1024, 1)],
        "server_threads": [threads_before, threads_after],
        "method": (__doc__ or "").strip(),
    }


def report(result: dict) -> None:
    before, during = result["get_flights_before"], result["get_flights_during"]
    print(
        f"Stream flood: {result['streams']} streams at once, {result['per_address']} per address, "
        f"cap {result['cap_per_address'] or 'off'} "
        f"({result['server']}, {result['machine']['cores']} cores)"
    )
    print(f"  streams                  {result['outcomes']}, settled in {result['settled_in_s']} s")
    print(
        f"  GET /flights before      p50 {before['p50_s']} s, p99 {before['p99_s']} s ({before['requests']} requests)"
    )
    print(
        f"  GET /flights during      p50 {during['p50_s']} s, p99 {during['p99_s']} s, max {during['max_s']} s "
        f"({during['requests']} requests, {during['not_200']} not 200)"
    )
    rss, threads = result["server_rss_mib"], result["server_threads"]
    print(f"  server                   RSS {rss[0]} -> {rss[1]} MiB, threads {threads[0]} -> {threads[1]}")


if __name__ == "__main__":
    run("stream_flood", main, report)
