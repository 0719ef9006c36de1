"""Event streams: how many idle streams one web process holds, their memory, and fan-out latency.

Method: one uvicorn process on PostgreSQL + Redis. An asyncio client on the same machine opens
GET /flights/F-100/events streams in batches and waits for each one's first event. Memory is the
server's resident size before and after; database connections are counted in pg_stat_activity.
Fan-out: with FANOUT_STREAMS streams open, a seat change is made over HTTP CHANGES times; for each,
the time from the event's commit (its row's creation time, in the change's transaction) to its
arrival on every stream (client and server share the machine's clock).
"""

import asyncio
import functools
import json
import os
import time
import urllib.request

import psycopg

from bench.common import DATABASE_URL, free_port, machine, percentile, prepare_database, rss_kib, run, start_web, stop

IDLE_STREAMS = int(os.environ.get("BENCH_IDLE_STREAMS", 5000))
FANOUT_STREAMS = int(os.environ.get("BENCH_FANOUT_STREAMS", 2000))
CHANGES = int(os.environ.get("BENCH_CHANGES", 20))
BATCH = 200


class Stream(asyncio.Protocol):
    """One SSE connection. A protocol, not a coroutine per stream: the client must cost far less than
    the server it measures, on the same two cores."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future = asyncio.get_running_loop().create_future()
        self.arrivals: list[float] = []
        self.buffer = b""

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(b"GET /flights/F-100/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")

    def data_received(self, data: bytes) -> None:
        if not self.opened.done():
            self.buffer += data
            if b"event: availability" in self.buffer and b"\n\n" in self.buffer.split(b"event: availability", 1)[1]:
                self.opened.set_result(b" 200 " in self.buffer.split(b"\r\n", 1)[0])
                self.buffer = self.buffer.split(b"event: availability", 1)[1]
            return
        self.buffer = self.buffer[-32:] + data  # an event name could straddle two reads
        count = self.buffer.count(b"event: seats")
        self.arrivals.extend([time.time()] * count)
        if count:
            self.buffer = self.buffer.rsplit(b"event: seats", 1)[1]

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_result(False)

    async def open(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: self, "127.0.0.1", port)
        if not await asyncio.wait_for(self.opened, 30):
            raise RuntimeError("stream refused")

    def close(self) -> None:
        if self.transport:
            self.transport.close()


def post(port: int, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def db_connections() -> int:
    with psycopg.connect(DATABASE_URL) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        assert row is not None
        return row[0]


async def open_streams(port: int, count: int) -> tuple[list[Stream], int]:
    streams, errors = [], 0
    for start in range(0, count, BATCH):
        batch = [Stream() for _ in range(min(BATCH, count - start))]
        results = await asyncio.gather(*(s.open(port) for s in batch), return_exceptions=True)
        for stream, result in zip(batch, results, strict=False):
            if isinstance(result, BaseException):
                errors += 1
                stream.close()
            else:
                streams.append(stream)
    return streams, errors


def event_times(channel: str) -> dict[int, float]:
    """When each event of the channel was stored: its change's commit follows within the transaction."""
    with psycopg.connect(DATABASE_URL) as conn:
        rows = conn.execute(
            "SELECT eid, extract(epoch FROM created) FROM django_eventstream_event WHERE channel = %s", [channel]
        ).fetchall()
    return {eid: float(created) for eid, created in rows}


async def fan_out(port: int, streams: list[Stream]) -> dict:
    """CHANGES seat changes, one after another; latency = arrival on a stream - the event's commit time."""
    order = post(port, "/orders", {"flightID": "F-100"})
    loop = asyncio.get_running_loop()
    first_eid = max(event_times("flight-F-100") or {0: 0}) + 1
    requests, missing = [], 0
    for change in range(CHANGES):
        seats = [f"{30 - change % 10}{'ABCDEF'[change % 6]}"]
        sent = time.perf_counter()
        await loop.run_in_executor(
            None, functools.partial(post, port, f"/orders/{order['orderID']}/seats", {"seats": seats}, order["token"])
        )
        requests.append(time.perf_counter() - sent)
        deadline = time.perf_counter() + 5
        while time.perf_counter() < deadline and any(len(s.arrivals) <= change for s in streams):
            await asyncio.sleep(0.02)
        for s in streams:  # keep the lists aligned with the change number even if one was missed
            if len(s.arrivals) <= change:
                missing += 1
                s.arrivals.append(float("nan"))
        await asyncio.sleep(0.05)
    committed = event_times("flight-F-100")
    every_arrival, all_arrived, first_arrived = [], [], []
    for change in range(CHANGES):
        at = committed[first_eid + change]
        arrivals = [s.arrivals[change] - at for s in streams if s.arrivals[change] == s.arrivals[change]]
        every_arrival += arrivals
        all_arrived.append(max(arrivals))
        first_arrived.append(min(arrivals))
    return {
        "streams": len(streams),
        "changes": CHANGES,
        "missing_deliveries": missing,
        "latency_p50_s": round(percentile(every_arrival, 50), 4),
        "latency_p99_s": round(percentile(every_arrival, 99), 4),
        "all_streams_p50_s": round(percentile(all_arrived, 50), 4),
        "all_streams_p99_s": round(percentile(all_arrived, 99), 4),
        "all_streams_max_s": round(max(all_arrived), 4) if all_arrived else None,
        "first_stream_p50_s": round(percentile(first_arrived, 50), 4),
        "change_request_p50_s": round(percentile(requests, 50), 4),
    }


async def main() -> dict:
    prepare_database()
    port = free_port()
    server = start_web(port)
    try:
        warm, _ = await open_streams(port, 1)
        baseline_rss, baseline_db = rss_kib(server.pid), db_connections()
        started = time.perf_counter()
        streams, errors = await open_streams(port, IDLE_STREAMS)
        opened_in = time.perf_counter() - started
        await asyncio.sleep(2)
        rss, db = rss_kib(server.pid), db_connections()
        idle = {
            "streams_asked": IDLE_STREAMS,
            "streams_open": len(streams) + len(warm),
            "errors": errors,
            "opened_in_s": round(opened_in, 2),
            "server_rss_mib": round(rss / 1024, 1),
            "memory_per_stream_kib": round((rss - baseline_rss) / max(1, len(streams)), 1),
            "db_connections_before": baseline_db,
            "db_connections_with_streams_open": db,
        }
        for stream in streams[FANOUT_STREAMS:]:
            stream.close()
        await asyncio.sleep(1)
        fanout = await fan_out(port, streams[:FANOUT_STREAMS])
        for stream in streams[:FANOUT_STREAMS] + warm:
            stream.close()
    finally:
        stop(server)
    return {
        "machine": machine(),
        "server": "1 uvicorn process (pool of 10 connections), PostgreSQL + Redis",
        "idle": idle,
        "fanout": fanout,
        "method": __doc__.strip(),
    }


def report(result: dict) -> None:
    idle, fan = result["idle"], result["fanout"]
    print(f"Event streams ({result['server']}, {result['machine']['cores']} cores, client on the same machine)")
    print(
        f"  idle streams held        {idle['streams_open'] - 1:>8} of {idle['streams_asked']} asked (+1 warm-up), "
        f"{idle['errors']} errors, opened in {idle['opened_in_s']} s"
    )
    print(
        f"  memory per stream        {idle['memory_per_stream_kib']:>8} KiB  (server RSS {idle['server_rss_mib']} MiB)"
    )
    print(
        f"  database connections     {idle['db_connections_with_streams_open']:>8} with streams open "
        f"({idle['db_connections_before']} before)"
    )
    print(
        f"  fan-out to {fan['streams']} streams, commit to arrival: over every delivery p50 {fan['latency_p50_s']} s, "
        f"p99 {fan['latency_p99_s']} s; until the last stream of a change p99 {fan['all_streams_p99_s']} s, "
        f"max {fan['all_streams_max_s']} s; {fan['missing_deliveries']} missed"
    )


if __name__ == "__main__":
    run("streams", main, report)
