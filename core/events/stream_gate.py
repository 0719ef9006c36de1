"""The door of the event streams: how many one client may have open, and how many may open at once.

A stream lives for as long as its client stays, and opening one costs a thread's time (the middleware,
the access check and the snapshot read: core/web_process.py, core/events/streams.read). In front of them:

- per client address (core/client_address.py: trusted proxies only; IPv6 counted by its /64), at most
  STREAMS_PER_ADDRESS streams open or opening in this process. One more gets 429 `too_many_streams` with
  Retry-After at once, before any thread or database read is spent on it. A stream gives its place back
  when it ends, however it ends: the client leaves, or the process stops its streams. The count is the
  process's own: `make run` has one web process, the deployed layout one streams process.
- at most STREAM_THREADS streams opening at once; the others wait in line (first come, first served)
  for at most STREAM_OPENING_MAX_WAIT_SECONDS, then get 503 `busy` with Retry-After (the pages' script
  opens its stream again). An opening ends when its response starts. So a thousand streams opening at
  once take the stream threads and their share of the connection pool, never the request threads.
"""

import json

from django.conf import settings

from core.admission import Slots
from core.client_address import address_key, client_address, trusted_proxies
from core.logs import REFUSALS

# A client over the cap waits for one of its own streams to end: a tab closed, a page left.
TOO_MANY_RETRY_AFTER_SECONDS = 10
BUSY_RETRY_AFTER_SECONDS = 1


def too_many_body(limit: int) -> dict:
    return {
        "error": f"This address already has {limit} event streams open, the most one client may have "
        f"(STREAMS_PER_ADDRESS). Close a page that follows a flight or an order (another tab or device) and "
        f"try again in {TOO_MANY_RETRY_AFTER_SECONDS} s.",
        "code": "too_many_streams",
        "limit": limit,
    }


def busy_body(max_wait: float) -> dict:
    return {
        "error": f"Too many event streams are opening at once: this one found no place within {max_wait:g} s. "
        f"Try again in {BUSY_RETRY_AFTER_SECONDS} s.",
        "code": "busy",
    }


def scope_address(scope) -> str:
    """The client's address of an ASGI request, as ClientAddressMiddleware finds it for Django's."""
    peer = scope["client"][0] if scope.get("client") else None
    forwarded = b",".join(value for name, value in scope.get("headers", ()) if name == b"x-forwarded-for")
    address = client_address(peer, forwarded.decode("latin-1") or None, trusted_proxies())
    return address_key(address or "unknown")


class StreamGate:
    """ASGI middleware in front of the streams' handler (see the module's docstring)."""

    def __init__(self, app, *, openings: int, max_wait: float) -> None:
        self.app = app
        self.open: dict[str, int] = {}  # client address -> its streams open or opening here
        self.openings = Slots(openings, max_wait)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = settings.STREAMS_PER_ADDRESS
        key = scope_address(scope)
        if limit and self.open.get(key, 0) >= limit:
            REFUSALS.count(f"429 too_many_streams ({limit} open per address)")
            return await refuse(send, 429, too_many_body(limit), TOO_MANY_RETRY_AFTER_SECONDS)
        self.open[key] = self.open.get(key, 0) + 1
        try:
            await self.pass_on(scope, receive, send)
        finally:
            left = self.open[key] - 1
            if left:
                self.open[key] = left
            else:
                del self.open[key]

    async def pass_on(self, scope, receive, send) -> None:
        """To the handler once an opening place is free; the place is given back when the response starts."""
        if not await self.openings.acquire():
            REFUSALS.count(f"503 busy (no stream opening place within {self.openings.max_wait:g} s)")
            return await refuse(send, 503, busy_body(self.openings.max_wait), BUSY_RETRY_AFTER_SECONDS)
        opening = True

        async def send_started(message) -> None:
            nonlocal opening
            if opening and message["type"] == "http.response.start":
                opening = False
                self.openings.release()
            await send(message)

        try:
            await self.app(scope, receive, send_started)
        finally:
            if opening:
                self.openings.release()


async def refuse(send, status: int, body: dict, retry_after: int) -> None:
    content = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
                (b"retry-after", str(retry_after).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})
