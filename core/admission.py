"""Admission: a web process runs at most WEB_THREADS requests at once; the rest wait a bounded time.

A flash sale sends a web process more requests than it can run. Without a bound, each one waits in a
queue (the thread pool's, or the database pool's) for as long as it takes, holding memory and, under
Django's ASGI handler, a thread and a database connection of its own, until PostgreSQL refuses new
clients and the timer loop and the workers cannot connect either. So, in front of the request threads:

- a request that finds a free slot runs at once;
- otherwise it waits in line (first come, first served) for at most WEB_MAX_WAIT_SECONDS;
- still no slot by then: 503 with `Retry-After` and the service's JSON error (`"code": "busy"`), sent
  from the event loop without touching Django, the threads or the database.

Nothing waits without end, and the threads and connections a burst can take are fixed (WEB_THREADS,
DB_POOL_MAX_SIZE). Event streams do not pass here (they live in the event loop for as long as the
client stays; core/web_process.py routes them around). The WSGI side (deploy/granian.py) shares WEB_MAX_WAIT_SECONDS.
"""

import asyncio
import contextlib
import json
from collections import deque

from core import metrics
from core.logs import REFUSALS

CODE = "busy"
RETRY_AFTER_SECONDS = 1


def busy_body(max_wait: float) -> dict:
    return {
        "error": f"The service is at capacity: no request slot came free within {max_wait:g} s. Nothing was "
        f"done; try again in {RETRY_AFTER_SECONDS} s (a POST with the same Idempotency-Key is safe to repeat).",
        "code": CODE,
    }


class Slots:
    """`size` slots, handed out in arrival order; `acquire` gives up after `max_wait` seconds."""

    def __init__(self, size: int, max_wait: float) -> None:
        if size < 1:
            raise ValueError("at least one slot")
        self.size, self.max_wait = size, max_wait
        self.busy = 0
        self.waiting: deque[asyncio.Future[bool]] = deque()

    async def acquire(self) -> bool:
        """True with a slot taken (call release() afterwards); False if none came free in time."""
        if self.busy < self.size and not self.waiting:
            self.busy += 1
            return True
        if self.max_wait <= 0:
            return False
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[bool] = loop.create_future()
        self.waiting.append(turn)
        timer = loop.call_later(self.max_wait, _give_up, turn)
        try:
            admitted = await turn  # True: release() handed its slot over; False: the timer ran out
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled() and turn.result():
                self.release()  # handed a slot just as the request was cancelled: pass it on
            raise
        finally:
            timer.cancel()
            if not (turn.done() and not turn.cancelled() and turn.result()):
                # timed out or cancelled: out of the line (release() may have dropped it already)
                with contextlib.suppress(ValueError):
                    self.waiting.remove(turn)
        return admitted

    def release(self) -> None:
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(True)  # the slot goes straight to the next in line
                return
        self.busy -= 1


def _give_up(turn: asyncio.Future[bool]) -> None:
    if not turn.done():
        turn.set_result(False)


class Admission:
    """ASGI middleware: at most `slots` HTTP requests inside `app` at once (see the module's docstring)."""

    def __init__(self, app, slots: int, max_wait: float) -> None:
        self.app = app
        self.slots = Slots(slots, max_wait)
        # /metrics reads the slots when scraped (alert: saturation, deploy/prometheus/alerts.yml).
        metrics.WEB_SLOTS.set_function(lambda: self.slots.size)
        metrics.WEB_IN_FLIGHT.set_function(lambda: self.slots.busy)
        metrics.WEB_WAITING.set_function(lambda: len(self.slots.waiting))

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if not await self.slots.acquire():
            self.log_refusal()
            return await self.refuse(send)
        try:
            return await self.app(scope, receive, send)
        finally:
            self.slots.release()

    def log_refusal(self) -> None:
        """Counted into one WARNING line per LOG_EVERY_SECONDS for the process (core/logs.py): a burst is not 1,000 lines."""
        metrics.BUSY_REFUSALS.inc()
        REFUSALS.count(f"503 busy (no request slot within {self.slots.max_wait:g} s)")

    async def refuse(self, send) -> None:
        body = json.dumps(busy_body(self.slots.max_wait)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
