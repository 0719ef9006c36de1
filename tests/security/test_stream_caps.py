"""Event streams bounded: one client address (IPv6 by its /64) may have STREAMS_PER_ADDRESS streams open in a
web process; one more is refused with 429 `too_many_streams` (Retry-After, a message naming the limit)
while other addresses keep opening theirs, and a stream that ends gives its place back. Openings share
STREAM_THREADS threads: a flood of openings adds no thread per stream, and an opening that finds no
place within STREAM_OPENING_MAX_WAIT_SECONDS is answered 503 `busy`. Against a real server started as
`make run` starts it; the addresses come through X-Forwarded-For from a trusted proxy (127.0.0.1)."""

import asyncio
import json
from pathlib import Path

import pytest

from core.events.stream_gate import StreamGate
from tests.http import SSEStream, call, free_port, wait_for_server
from tests.processes import Processes, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

CAP = 5


class Server:
    def __init__(self, processes: Processes, base: str, pid: int) -> None:
        self.processes, self.base, self.pid = processes, base, pid
        self.opened: list[SSEStream] = []

    def stream(self, address: str, path: str = "/flights/FL-001/events") -> SSEStream:
        stream = SSEStream(self.base, path, {"X-Forwarded-For": address})
        self.opened.append(stream)
        return stream

    def threads(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("Threads:")).split()[1])


@pytest.fixture
def server(transactional_db, tmp_path, settings, flight):
    processes = Processes(tmp_path)
    processes.configure(settings, TRUSTED_PROXIES="127.0.0.1", STREAMS_PER_ADDRESS=CAP, REDIS_URL="")
    port = free_port()
    web = processes.start_web(port)
    live = Server(processes, f"http://127.0.0.1:{port}", web.pid)
    wait_for_server(live.base)
    yield live
    for stream in live.opened:
        stream.close()
    processes.kill_all()


def refusal(stream: SSEStream) -> dict:
    assert stream.status == 429, stream.status
    assert stream.response.getheader("Retry-After") == "10"
    return stream.body()


def test_one_address_gets_429_beyond_the_cap_while_another_opens_streams(server):
    flood = [server.stream("198.51.100.7") for _ in range(CAP)]
    assert [s.status for s in flood] == [200] * CAP
    assert all(s.next().type == "availability" for s in flood)

    refused = [server.stream("198.51.100.7") for _ in range(20)]
    bodies = [refusal(s) for s in refused]
    assert {b["code"] for b in bodies} == {"too_many_streams"}
    assert bodies[0]["limit"] == CAP and f"{CAP} event streams open" in bodies[0]["error"]
    order_stream = server.stream("198.51.100.7", "/orders/ORD-unknown/events")  # every stream counts together
    assert order_stream.status == 429

    neighbour = server.stream("198.51.100.8")
    assert neighbour.status == 200 and neighbour.next().type == "availability"
    status, _ = call(server.base, "GET", "/flights")  # the flood does not touch request/response
    assert status == 200


def test_an_ipv6_client_is_counted_by_its_slash_64(server):
    same_host_block = [server.stream(f"2001:db8:1:2::{n + 1:x}") for n in range(CAP)]
    assert [s.status for s in same_host_block] == [200] * CAP
    assert refusal(server.stream("2001:db8:1:2:ffff::9"))["code"] == "too_many_streams"
    assert server.stream("2001:db8:1:3::1").status == 200


def test_streams_that_end_give_their_places_back(server):
    streams = [server.stream("203.0.113.5") for _ in range(CAP)]
    assert all(s.status == 200 for s in streams)
    assert server.stream("203.0.113.5").status == 429
    for stream in streams[:2]:  # the client goes away: the server sees the disconnect
        stream.close()

    def reopened() -> bool:
        stream = server.stream("203.0.113.5")
        if stream.status != 200:
            return False
        stream.next()
        return True

    wait_until(reopened, timeout=10, what="a place given back by a closed stream")
    assert server.stream("203.0.113.5").status in (200, 429)  # the second closed place, or the cap again
    opened = sum(s.status == 200 and not s.ended.is_set() for s in server.opened if s not in streams[:2])
    assert opened == CAP


def test_a_flood_of_openings_adds_no_thread_per_stream(server):
    """Under Django's stock handler each open stream kept a thread of its own (1,000 streams: 1,000
    threads, measured); here they share the stream threads."""
    server.stream("192.0.2.1").next()  # the shared threads exist once a stream has opened
    before = server.threads()
    streams = [server.stream(f"192.0.2.{n + 10}") for n in range(40)]
    assert all(s.status == 200 for s in streams)
    for stream in streams:
        stream.next()
    assert server.threads() - before <= 4, f"{server.threads() - before} more threads with 40 streams open"


def test_openings_beyond_the_shared_threads_wait_then_get_503_busy(settings):
    """The gate alone, in the event loop: one opening place, held by a stream whose response has not
    started; the next opening waits its bounded time, then is refused with 503 and Retry-After."""
    settings.STREAMS_PER_ADDRESS = 50
    release = asyncio.Event()

    async def slow_opening(scope, receive, send):
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def scenario() -> tuple[list[dict], list[dict]]:
        gate = StreamGate(slow_opening, openings=1, max_wait=0.2)
        first_sent: list[dict] = []
        second_sent: list[dict] = []

        def sender(into: list[dict]):
            async def send(message):
                into.append(message)

            return send

        scope = {"type": "http", "client": ("198.51.100.1", 5000), "headers": []}
        first = asyncio.create_task(gate(scope, None, sender(first_sent)))
        await asyncio.sleep(0.05)
        await gate({**scope, "client": ("198.51.100.2", 5000)}, None, sender(second_sent))
        release.set()
        await first
        return first_sent, second_sent

    first_sent, second_sent = asyncio.run(scenario())
    assert first_sent[0]["status"] == 200
    assert second_sent[0]["status"] == 503
    assert (b"retry-after", b"1") in second_sent[0]["headers"]
    assert json.loads(second_sent[1]["body"])["code"] == "busy"
