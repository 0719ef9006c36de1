"""Slow clients cannot exhaust `make run`'s web server (deploy/serve.py), started exactly as the Procfile
starts it: a connection whose request head is not complete within WEB_HEADER_TIMEOUT_SECONDS is closed,
and so is one whose body (Content-Length or chunked) is not complete within WEB_BODY_TIMEOUT_SECONDS of
its head; the open-files limit is raised to the hard limit, so that thousands of held connections leave room for
an ordinary request; and past the connection bound a request is answered 503 with Retry-After at once,
not left hanging. uvicorn alone kept every such connection open (3,000 for 105 s, measured) and, at its
open-files limit, stopped accepting anyone."""

import asyncio
import contextlib
import json
import re
import resource
import time
from pathlib import Path

import pytest

from tests.http import call, free_port, wait_for_server
from tests.processes import BASE_DIR, Processes

pytestmark = pytest.mark.django_db(transaction=True)

PARTIAL_HEAD = b"GET /flights HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nX-Slow: "
# A complete head whose body never completes: one byte of the 100 promised, or a chunked body without end.
SHORT_BODY = (
    b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
)
ENDLESS_CHUNKS = (
    b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n"
)
# The web process starts with the soft limit most systems give a process, under a hard limit it may raise to.
SOFT_FILES, HARD_FILES = 1024, 4096


def procfile_web_line() -> str:
    entries = dict(line.split(": ", 1) for line in (BASE_DIR / "Procfile").read_text().splitlines() if ": " in line)
    return entries["web"]


@pytest.fixture
def start_server(transactional_db, tmp_path: Path, settings, flight):
    processes = Processes(tmp_path)

    def start(**values) -> str:
        port = free_port()
        processes.configure(settings, **values)
        processes.env["WEB_PORT"] = str(port)
        limits = f"ulimit -Sn {SOFT_FILES} && ulimit -Hn {HARD_FILES} && "
        processes.start_argv("web", ["sh", "-c", limits + procfile_web_line()])
        base = f"http://127.0.0.1:{port}"
        wait_for_server(base)
        return base

    yield start
    processes.kill_all()


@pytest.fixture(autouse=True)
def enough_files_for_the_client():
    """This test process holds the connections: its own soft limit raised as far as it may go."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = HARD_FILES + 1024
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"needs {wanted} open files in the test process; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def hold(
    port: int, count: int, head: bytes = PARTIAL_HEAD
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """`count` connections, each having sent `head` (a request head without its end) and nothing more."""

    async def one():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        if head:
            writer.write(head)
            await writer.drain()
        return reader, writer

    held = []
    for start in range(0, count, 250):
        held += await asyncio.gather(*(one() for _ in range(min(250, count - start))))
    return held


async def closed_within(connection, seconds: float) -> bytes | None:
    """What the server sent before closing the connection, or None if it was still open after `seconds`."""
    reader, _ = connection
    try:
        return await asyncio.wait_for(reader.read(), seconds)
    except TimeoutError:
        return None
    except ConnectionError:
        return b""


def ordinary_request(base: str) -> tuple[int, dict]:
    return call(base, "GET", "/flights")  # a socket timeout (10 s) fails the test: the request hung


def test_connections_sending_partial_headers_are_closed_after_the_bound(start_server):
    base = start_server(WEB_HEADER_TIMEOUT_SECONDS=1)
    port = int(base.rsplit(":", 1)[1])

    async def scenario():
        partial = await hold(port, 300)
        silent = await hold(port, 100, head=b"")  # connected, never a byte
        started = time.monotonic()
        answers = await asyncio.gather(*(closed_within(c, 10) for c in partial + silent))
        return answers, time.monotonic() - started

    answers, took = asyncio.run(scenario())
    still_open = sum(answer is None for answer in answers)
    assert still_open == 0, f"{still_open} of {len(answers)} slow connections still open after 10 s"
    assert sum(answer.startswith(b"HTTP/1.1 408") for answer in answers if answer) >= 300
    print(f"400 slow connections closed by the server within {took:.1f} s (head timeout 1 s)")


def test_an_ordinary_request_answers_while_thousands_of_slow_connections_are_held(start_server):
    """The web process starts with the common soft limit of 1,024 open files: 1,500 slow connections
    would exhaust it (the listener stops accepting and the ordinary request hangs), unless the launcher
    raised it. Past the connection bound (the raised limit less a reserve) a request gets 503 at once."""
    base = start_server(WEB_HEADER_TIMEOUT_SECONDS=120)
    port = int(base.rsplit(":", 1)[1])

    async def scenario():
        loop = asyncio.get_running_loop()
        held = await hold(port, 1500)
        under = await loop.run_in_executor(None, ordinary_request, base)
        held += await hold(port, HARD_FILES - 1500)
        over = await loop.run_in_executor(None, ordinary_request, base)
        for _, writer in held:
            writer.close()
        return under, over

    (status, body), (over_status, over_body) = asyncio.run(scenario())
    assert status == 200, body
    assert over_status == 503 and over_body["code"] == "busy", over_body
    status, body = call(base, "GET", "/flights")  # the slow ones gone, the server answers as before
    assert status == 200, body


def test_connections_sending_bodies_slowly_are_closed_after_the_bound(start_server):
    """Before the body's deadline the server waited for the rest of a body as long as the client liked:
    with the connection bound reached, every other client got 503 `busy` for as long as they stayed."""
    base = start_server(WEB_BODY_TIMEOUT_SECONDS=1, WEB_MAX_CONNECTIONS=50)
    port = int(base.rsplit(":", 1)[1])

    async def scenario():
        loop = asyncio.get_running_loop()
        held = await hold(port, 25, head=SHORT_BODY) + await hold(port, 25, head=ENDLESS_CHUNKS)
        during = await loop.run_in_executor(None, ordinary_request, base)
        trickle = asyncio.gather(*(keep_sending(writer, b"1\r\nx\r\n") for _, writer in held[25:]))
        started = time.monotonic()
        answers = await asyncio.gather(*(closed_within(c, 10) for c in held))
        trickle.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await trickle
        return during, answers, time.monotonic() - started

    (status, body), answers, took = asyncio.run(scenario())
    # The bound is full of slow bodies: the ordinary request is turned away at once, not left hanging.
    assert status == 503 and body["code"] == "busy", body
    still_open = sum(answer is None for answer in answers)
    assert still_open == 0, f"{still_open} of {len(answers)} slow bodies still open after 10 s"
    # Those that stopped sending read their 408; a trickling one may see a reset instead (its last bytes
    # arrived after the server closed).
    timed_out = [answer for answer in answers[:25] if answer and answer.startswith(b"HTTP/1.1 408")]
    assert len(timed_out) == 25, answers[:25]
    assert b"body did not arrive in time" in timed_out[0]
    print(f"50 slow bodies closed by the server within {took:.1f} s (body timeout 1 s)")
    status, body = call(base, "GET", "/flights")  # the slow ones gone, the server answers again
    assert status == 200, body


def test_an_ordinary_request_answers_while_slow_bodies_are_held(start_server):
    """Slow bodies hold connections, not request threads (the body is read in the event loop), and a
    keep-alive connection's next request gets deadlines of its own: a body sent at once is answered."""
    base = start_server(WEB_BODY_TIMEOUT_SECONDS=2)
    port = int(base.rsplit(":", 1)[1])

    async def scenario():
        loop = asyncio.get_running_loop()
        held = await hold(port, 200, head=SHORT_BODY) + await hold(port, 200, head=ENDLESS_CHUNKS)
        during = await loop.run_in_executor(None, ordinary_request, base)
        again = await keep_alive_requests(port)
        answers = await asyncio.gather(*(closed_within(c, 10) for c in held))
        return during, again, answers

    (status, body), again, answers = asyncio.run(scenario())
    assert status == 200, body
    assert again == [201, 201], again
    assert sum(answer is None for answer in answers) == 0


async def keep_sending(writer: asyncio.StreamWriter, chunk: bytes) -> None:
    """A byte of the body every 0.2 s: a client that is sending, only never finishing."""
    with contextlib.suppress(ConnectionError):
        while True:
            await asyncio.sleep(0.2)
            writer.write(chunk)
            await writer.drain()


async def keep_alive_requests(port: int) -> list[int]:
    """Two orders on one keep-alive connection, the second sent longer than the body's deadline after the
    first: each request starts its own deadlines (the first's ended with its body)."""
    body = json.dumps({"flightID": "FL-001"}).encode()
    request = b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    request += b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    statuses = []
    for pause in (0, 2.5):
        await asyncio.sleep(pause)
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        statuses.append(int(head.split()[1]))
        length = re.search(rb"(?i)content-length: (\d+)", head)
        assert length, head
        await reader.readexactly(int(length.group(1)))
    writer.close()
    return statuses
