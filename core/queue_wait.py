"""A request that waited too long before any process took it is refused: 503, Retry-After, the JSON error.

Behind nginx (deploy/nginx.conf) every request carries `X-Request-Start: t=<seconds since the epoch>`,
the moment nginx took it. A WSGI worker (deploy/granian.py) runs one request at a time, so under a burst
requests queue in front of it; by the time a worker takes one that waited longer than
settings.WEB_MAX_WAIT_SECONDS, its client has likely given up or is about to, and doing its work would
only make the queue behind it longer. Such a request is refused at once (no database work), with
Retry-After, so that a burst gets quick 503s instead of an ever-growing wait.

The header counts only from TRUSTED_PROXIES (core/client_address.py), the same rule as X-Forwarded-For.
Without it (make run, no proxy) nothing is checked here. WEB_MAX_WAIT_SECONDS = 0 turns the check off.
The ASGI process bounds its own wait the same way with the same setting and answer (core/admission.py).
"""

import time

from django.conf import settings
from django.http import JsonResponse

from core.admission import RETRY_AFTER_SECONDS, busy_body
from core.client_address import is_in, trusted_proxies
from core.logs import name_refusal
from core.metrics import BUSY_REFUSALS


def request_start(value: str | None) -> float | None:
    """Seconds since the epoch from 't=1700000000.123' (nginx's ${msec}), or in ms or µs as some proxies send."""
    if not value:
        return None
    try:
        started = float(value.strip().removeprefix("t="))
    except ValueError:
        return None
    for _ in range(2):  # milliseconds or microseconds since the epoch
        if started > 1e11:
            started /= 1000
    return started


def waited(meta: dict, now: float | None = None) -> float | None:
    """How long the request waited between the proxy and this process, if a trusted proxy said when it came."""
    started = request_start(meta.get("HTTP_X_REQUEST_START"))
    if started is None or not is_in(meta.get("PEER_ADDR", meta.get("REMOTE_ADDR")), trusted_proxies()):
        return None
    return (time.time() if now is None else now) - started


def too_long_response() -> JsonResponse:
    """The same answer as the ASGI process's admission gives when no slot comes free in time (core/admission.py)."""
    response = JsonResponse(busy_body(settings.WEB_MAX_WAIT_SECONDS), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class QueueWaitMiddleware:
    """See the module's docstring. After ClientAddressMiddleware (it reads the socket's peer, PEER_ADDR)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.WEB_MAX_WAIT_SECONDS
        if limit > 0:
            seconds = waited(request.META)
            if seconds is not None and seconds > limit:
                name_refusal(request, f"503 busy (waited over {limit:g} s for a web process)")  # core/logs.py
                BUSY_REFUSALS.inc()
                return too_long_response()
        return self.get_response(request)
