"""The web process: Django under the ASGI server (seatbooking/asgi.py builds it).

Two roads through one process, chosen by the request's path:
- request/response (the API, pages, admin, static files, /health, /metrics): Django's WSGI handler on a
  fixed pool of WEB_THREADS threads (a2wsgi), behind admission (core/admission.py). Each thread runs one
  request at a time and keeps no connection between requests, so a process never runs more than
  WEB_THREADS requests nor holds more than its connection pool, however many clients come. Django's ASGI
  handler would give each request a thread of its own (a per-request ThreadSensitiveContext) and costs
  more per request (a 404: 2.96 ms of CPU under it, 1.87 ms this way, measured).
- event streams (the paths whose view is async: GET /orders/{id}/events, /flights/{code}/events): Django's
  ASGI handler, in the event loop, for as long as the client stays; they take no request thread. Their
  door (core/events/stream_gate.py) caps them per client address and bounds how many open at once, and
  their openings share STREAM_THREADS threads.
"""

import asyncio
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, cast

from a2wsgi import WSGIMiddleware
from asgiref.sync import iscoroutinefunction, sync_to_async
from asgiref.typing import ASGI3Application
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.urls import Resolver404, resolve

from core.admission import Admission
from core.collector import quiet_garbage_collection
from core.events.delivery import DELIVERY
from core.events.storage import release_connection
from core.events.stream_gate import StreamGate
from core.events.streams import close_streams
from core.request_limits import RequestLimits


class BackgroundTask(Protocol):
    def ensure_started(self) -> None: ...


# What the apps run in each web process besides event delivery (operations: its reports for the dashboard),
# added from their AppConfig.ready(): core sits below the apps and names none of them.
BACKGROUND_TASKS: list[BackgroundTask] = []


def run_in_each_web_process(task: BackgroundTask) -> None:
    """Start `task` (its ensure_started()) with every web process, at startup, once."""
    if task not in BACKGROUND_TASKS:
        BACKGROUND_TASKS.append(task)


def build_application(requests_app: Any = None, *, admission: bool = True) -> ASGI3Application:
    """Django behind the door (request limits) and around it the process's own lifecycle; `requests_app`
    is the WSGI application for request/response (seatbooking/handlers.py), Django's handler if None.

    `admission=False` leaves the request threads' queue unbounded: for the tests' control only."""
    quiet_garbage_collection()  # thousands of long-lived streams must not be rescanned on every fan-out
    # Bodies over MAX_REQUEST_BODY_BYTES get 413 before they are read (core/request_limits.py).
    threads = settings.WEB_THREADS
    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    if isinstance(pool, dict) and threads > pool.get("max_size", threads):
        raise ImproperlyConfigured(
            f"WEB_THREADS ({threads}) is more than DB_POOL_MAX_SIZE ({pool['max_size']}): request threads would "
            "wait for connections. Lower WEB_THREADS or raise DB_POOL_MAX_SIZE (docs/operations.md, Configuration)."
        )
    requests: Any = WSGIMiddleware(cast(Any, requests_app or WSGIHandler()), workers=threads)  # stubs: an iterable
    if admission:
        requests = Admission(requests, threads, settings.WEB_MAX_WAIT_SECONDS)
    streams = StreamGate(
        OneHopASGIHandler(settings.STREAM_THREADS),
        openings=settings.STREAM_THREADS,
        max_wait=settings.STREAM_OPENING_MAX_WAIT_SECONDS,
    )
    # The other async views (/health) on threads of their own: a probe never waits behind streams opening.
    checks = OneHopASGIHandler(ASYNC_VIEW_THREADS, name="async-view")
    application: Any = RequestLimits(
        WebProcess(ByPath(streams=streams, async_views=checks, requests=BufferedBody(requests)))
    )
    return application


ASYNC_VIEW_THREADS = 2


def road(path: str) -> str:
    """Which road the path's view takes, resolved as Django will, in the event loop: "streams" (an event
    stream: core.events.streams.event_stream), "async_views" (another async view) or "requests"."""
    try:
        view = resolve(path).func
    except Resolver404:
        return "requests"
    if not iscoroutinefunction(view):
        return "requests"
    return "streams" if getattr(view, "event_stream", False) else "async_views"


class ByPath:
    """Event streams to `streams` and other async views to `async_views` (in the event loop), everything
    else to `requests` (the threads)."""

    def __init__(self, *, streams, async_views, requests) -> None:
        self.roads = {"streams": streams, "async_views": async_views, "requests": requests}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            path = scope["path"].removeprefix(scope.get("root_path", "")) or "/"
            return await self.roads[road(path)](scope, receive, send)
        return await self.roads["requests"](scope, receive, send)


class BufferedBody:
    """Reads the whole request body in the event loop before the request goes to a thread: a slow client
    never holds a thread (or a slot) while it sends, and a body still arriving is still counted by
    RequestLimits (a chunked one over the limit gets its 413 here, as under the ASGI handler)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away, or RequestLimits answered 413: nothing to run
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        first: dict | None = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        async def replay():
            nonlocal first
            if first is not None:
                message, first = first, None
                return message
            return await receive()

        return await self.app(scope, replay, send)


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler, running the middleware and the view in one worker thread, entered once.

    Under the stock handler each of Django's (sync-style) middleware crosses from the event loop to a
    thread and back for process_request and again for process_response: about a dozen thread hops
    per API request, most of its cost (measured: a 404 at 228 requests/s per process, 524 with this).
    The API views are sync anyway, so the request goes through Django's sync handler, on one of
    `threads` threads shared by every stream. Async views (the event streams) still run in the event
    loop, and so do their bodies.

    Not in a ThreadSensitiveContext, as the stock handler is: it gives each request a thread of its own,
    which an event stream keeps, idle, for as long as it is open (1,000 streams: 1,000 threads).
    """

    def __init__(self, threads: int, *, name: str = "stream-opening") -> None:
        super().__init__()
        self.threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def get_response_async(self, request):
        return await sync_to_async(self.respond, thread_sensitive=False, executor=self.threads)(request)

    def respond(self, request):
        """The response, with the thread's connection given back (the next opening on this thread may
        be much later; request_finished runs elsewhere)."""
        try:
            return self.get_response(request)
        finally:
            release_connection()


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
        DELIVERY.ensure_started()  # also without a lifespan (a server run with it off): one check per request
        return await self.app(scope, receive, send)

    @staticmethod
    def start_background_tasks() -> None:
        """Event delivery, and the apps' tasks (run_in_each_web_process), such as the reports of this
        process's delivery and streams for the admin's dashboard (once, at startup: nothing of it runs per
        request)."""
        DELIVERY.ensure_started()
        for task in BACKGROUND_TASKS:
            task.ensure_started()

    async def lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.start_background_tasks()
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
