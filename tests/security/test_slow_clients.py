"""Slow clients cannot exhaust `make run`'s web server (deploy/serve.py), started exactly as the Procfile
starts it: a connection whose request head is not complete within WEB_HEADER_TIMEOUT_SECONDS is closed;
the open-files limit is raised to the hard limit, so that thousands of held connections leave room for
an ordinary request; and past the connection bound a request is answered 503 with Retry-After at once,
not left hanging. uvicorn alone kept every such connection open (3,000 for 105 s, measured) and, at its
open-files limit, stopped accepting anyone."""

import asyncio
import resource
import time
from pathlib import Path

import pytest

from tests.http import call, free_port, wait_for_server
from tests.processes import BASE_DIR, Processes

pytestmark = pytest.mark.django_db(transaction=True)

PARTIAL_HEAD = b"GET /flights HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nX-Slow: "
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
