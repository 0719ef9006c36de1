"""`make run`'s web server (Procfile `web:`): uvicorn, with the bounds a server that faces clients needs.

    python -m deploy.serve --host 127.0.0.1 --port 8080 [--log-level warning] [--no-access-log]

uvicorn alone waits for a request's head for as long as the client takes, and takes every connection
it is offered: 3,000 connections sending partial headers stayed open for 105 s, none closed, and at
about 20,200 the process ran out of file descriptors and turned legitimate clients away (measured).
So, before uvicorn starts:

- the soft limit on open files (RLIMIT_NOFILE) is raised to the hard limit, where the OS allows;
- each connection's request head must be complete within WEB_HEADER_TIMEOUT_SECONDS of the connection
  opening or of the request's first byte (a keep-alive connection idle between requests is closed after
  uvicorn's own 5 s), and its body within WEB_BODY_TIMEOUT_SECONDS of the head's end (a request without a
  body ends with its head): a slow client is answered 408 and closed; the next request on a keep-alive
  connection starts its own deadlines;
- at most WEB_MAX_CONNECTIONS connections are open at once (event streams included), and never more than
  the open-files limit leaves room for: one more is answered 503 with Retry-After and closed at once,
  instead of queueing unseen or exhausting the descriptors.

The deployed layout has nginx in front (deploy/nginx.conf: client_header_timeout and friends), so its
streams process stays plain uvicorn. Otherwise the same options as the uvicorn command it replaces:
--no-proxy-headers (core/client_address.py reads X-Forwarded-For from trusted proxies only) and
--timeout-graceful-shutdown 4.
"""

import argparse
import asyncio
import json
import logging
import os
import resource

import uvicorn
from django.conf import settings
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Descriptors kept free of connections: the database (SQLite: a few files per thread), log files, Redis,
# static files, and connections being refused.
RESERVED_FILES = 512
# A Linux process may not set RLIMIT_NOFILE to "unlimited"; this is the kernel's default nr_open.
UNLIMITED_FILES = 1_048_576
REFUSED_CLOSE_SECONDS = 0.5
logger = logging.getLogger("uvicorn.error")


def raise_open_files_limit() -> tuple[int, int]:
    """The soft limit on open files raised to the hard one; returns (before, after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = UNLIMITED_FILES if hard == resource.RLIM_INFINITY else hard
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft, soft
        return soft, target
    return soft, soft


def response(status: bytes, body: dict, *extra: bytes) -> bytes:
    content = json.dumps(body).encode()
    head = [b"HTTP/1.1 " + status, b"content-type: application/json", b"connection: close"]
    head += [b"content-length: " + str(len(content)).encode(), *extra]
    return b"\r\n".join(head) + b"\r\n\r\n" + content


TIMED_OUT = response(
    b"408 Request Timeout",
    {"error": "The request's headers did not arrive in time; send them at once.", "code": "request_timeout"},
)
BODY_TIMED_OUT = response(
    b"408 Request Timeout",
    {"error": "The request's body did not arrive in time; send it whole at once.", "code": "request_timeout"},
)
BUSY = response(
    b"503 Service Unavailable",
    {"error": "The server has as many connections open as it takes; try again in 1 s.", "code": "busy"},
    b"retry-after: 1",
)


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol with a deadline on each request's head and one on its body, and a bound on
    open connections."""

    head_timeout = 10.0
    body_timeout = 10.0
    max_connections = 10_000
    head_timer: asyncio.TimerHandle | None = None
    body_timer: asyncio.TimerHandle | None = None
    refused = False

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self.refuse(transport)
            return
        self.start_head_timer()

    def refuse(self, transport) -> None:
        """503 now, and the connection closed as soon as its request has arrived (and been read: closing
        with unread data would reset the connection before the answer arrives), or half a second later."""
        self.refused = True
        transport.write(BUSY)
        if transport.can_write_eof():
            transport.write_eof()
        self.loop.call_later(REFUSED_CLOSE_SECONDS, transport.close)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            self.transport.close()  # its request, unread: the answer is on its way
            return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.start_head_timer()  # a request's first byte: its head has head_timeout from now

    def on_headers_complete(self) -> None:
        self.stop_head_timer()
        # The body's deadline from the head's end; a request without a body completes within this same
        # data_received (on_message_complete), so its timer is cancelled before it could ever run.
        self.body_timer = self.loop.call_later(self.body_timeout, self.body_timed_out)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.stop_body_timer()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop_head_timer()
        self.stop_body_timer()
        super().connection_lost(exc)

    def start_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.head_timeout, self.head_timed_out)

    def stop_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def head_timed_out(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:  # not in the middle of another response
            self.transport.write(TIMED_OUT)
        self.transport.close()

    def stop_body_timer(self) -> None:
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = None

    def body_timed_out(self) -> None:
        """The body is late: 408 unless a response has begun (the app answered early, or a pipelined
        request's predecessor is still answering), then closed. The app's receive() gets http.disconnect
        (core/web_process.py's BufferedBody then runs nothing)."""
        self.body_timer = None
        if self.transport.is_closing():
            return
        if not self.pipeline and not self.cycle.response_started:
            self.transport.write(BODY_TIMED_OUT)
        self.transport.close()


def configure(open_files: int) -> None:
    """The protocol's bounds from the settings, under the open-files limit."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seatbooking.settings")  # read lazily, on first use
    BoundedHttpProtocol.head_timeout = settings.WEB_HEADER_TIMEOUT_SECONDS
    BoundedHttpProtocol.body_timeout = settings.WEB_BODY_TIMEOUT_SECONDS
    BoundedHttpProtocol.max_connections = max(1, min(settings.WEB_MAX_CONNECTIONS, open_files - RESERVED_FILES))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.serve", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--no-access-log", dest="access_log", action="store_false")
    args = parser.parse_args(argv)
    before, after = raise_open_files_limit()
    configure(after)
    config = uvicorn.Config(
        "seatbooking.asgi:application",
        host=args.host,
        port=args.port,
        http=BoundedHttpProtocol,
        log_level=args.log_level,
        access_log=args.access_log,
        proxy_headers=False,
        timeout_graceful_shutdown=4,
        backlog=2048,
    )
    logger.info(
        "Open files limit %d -> %d; at most %d connections; request heads within %g s, bodies within %g s",
        before,
        after,
        BoundedHttpProtocol.max_connections,
        BoundedHttpProtocol.head_timeout,
        BoundedHttpProtocol.body_timeout,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
