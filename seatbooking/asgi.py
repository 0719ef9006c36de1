import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seatbooking.settings")

import django  # noqa: E402
from asgiref.sync import sync_to_async  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402


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


django.setup(set_prefix=False)
application = OneHopASGIHandler()

# A web process holds thousands of long-lived event streams; with CPython's default thresholds the
# collector keeps rescanning all of them while events fan out (measured with 2,000 streams: fan-out
# p99 0.68 s by default, 0.23 s with these). Rarer collections, after startup's objects are frozen.
gc.freeze()
gc.set_threshold(int(os.environ.get("WEB_GC_THRESHOLD", 100_000)), 50, 1000)

# Bodies over MAX_REQUEST_BODY_BYTES get 413 before they are read (seatbooking/request_limits.py).
from seatbooking.request_limits import RequestLimits  # noqa: E402

application = RequestLimits(application)
