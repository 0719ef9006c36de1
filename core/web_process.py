"""The web process: Django's ASGI application, as the web server runs it (seatbooking/asgi.py builds it)."""

import asyncio
import gc
import os
import signal
from typing import Any

from asgiref.sync import sync_to_async
from asgiref.typing import ASGI3Application
from django.core.handlers.asgi import ASGIHandler

from core.events.delivery import DELIVERY
from core.events.streams import close_streams
from core.request_limits import RequestLimits


def build_application() -> ASGI3Application:
    """Django behind the door (request limits) and around it the process's own lifecycle."""
    # A web process holds thousands of long-lived event streams; with CPython's default thresholds the
    # collector keeps rescanning all of them while events fan out (measured with 2,000 streams: fan-out
    # p99 0.68 s by default, 0.23 s with these). Rarer collections, after startup's objects are frozen.
    gc.freeze()
    gc.set_threshold(int(os.environ.get("WEB_GC_THRESHOLD", 100_000)), 50, 1000)
    # Bodies over MAX_REQUEST_BODY_BYTES get 413 before they are read (core/request_limits.py).
    application: Any = RequestLimits(WebProcess(OneHopASGIHandler()))
    return application


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler, running the middleware and the view in one worker thread, entered once.

    Under the stock handler each of Django's (sync-style) middleware crosses from the event loop to a
    thread and back for process_request and again for process_response: about a dozen thread hops
    per API request, most of its cost (measured: a 404 at 228 requests/s per process, 524 with this).
    The API views are sync anyway, so the request goes through Django's sync handler, in the request's
    thread-sensitive thread. Async views (the event streams) still run in the event loop, and so do
    their bodies.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


class WebProcess:
    """The web process around Django: starts event delivery, and ends event streams when it stops.

    uvicorn waits for open responses before it exits, and an event stream never ends by itself, so on
    SIGTERM/SIGINT the streams are closed at once (clients reconnect and resume from their last id).
    uvicorn installs its signal handlers before the lifespan starts; ours run first, then its own.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            return await self.lifespan(receive, send)
        DELIVERY.ensure_started()
        return await self.app(scope, receive, send)

    async def lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                DELIVERY.ensure_started()
                self.close_streams_on_stop_signals()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                close_streams()
                await send({"type": "lifespan.shutdown.complete"})
                return

    @staticmethod
    def close_streams_on_stop_signals() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)

            def handler(signum, frame, previous=previous):
                loop.call_soon_threadsafe(close_streams)
                if callable(previous):
                    previous(signum, frame)

            signal.signal(sig, handler)
