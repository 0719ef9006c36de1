"""Request bodies over settings.MAX_REQUEST_BODY_BYTES are refused with 413, before they are read.

Under ASGI, Django reads the whole body into a file before any of its limits applies (a client could
make a web process take in any amount), and its own refusal is a 400 logged as an ERROR with a traceback.
So the limit is kept in front of Django, around the ASGI application (RequestLimits):
- a Content-Length over the limit is answered at once, without reading a byte of the body;
- a body without Content-Length (chunked) is counted as it arrives: once over, the 413 is sent, the
  connection is closed, and Django is told the client went away (it stops reading, quietly).
Requests that reach Django by another road (the test client, WSGI) meet BodyLimitMiddleware, which gives
the same answer; and Django's own RequestDataTooBig, should it still be raised, becomes the same 413 too
(core.api_errors.bad_request).
"""

import json
import logging

from django.conf import settings
from django.http import JsonResponse

log = logging.getLogger(__name__)

CODE = "body_too_large"


def limit() -> int:
    return settings.MAX_REQUEST_BODY_BYTES


def error_body() -> dict:
    return {
        "error": f"The request body is larger than this service accepts ({limit()} bytes, the "
        "MAX_REQUEST_BODY_BYTES setting). Requests here are small JSON objects; send less.",
        "code": CODE,
    }


def too_large_response() -> JsonResponse:
    response = JsonResponse(error_body(), status=413)
    response["Connection"] = "close"
    return response


def _content_length(raw: bytes | str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, b"", "") else None
    except ValueError:
        return None  # the server refuses a malformed Content-Length itself


class RequestLimits:
    """ASGI middleware around Django's application: see the module's docstring."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        maximum = limit()
        declared = _content_length(next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None))
        if declared is not None and declared > maximum:
            log.info(
                "refused a %d-byte body on %s %s (limit %d)", declared, scope.get("method"), scope.get("path"), maximum
            )
            return await self.refuse(send)

        received = 0
        refused = False

        async def counting_receive():
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > maximum:
                    refused = True
                    log.info("refused a body over %d bytes on %s %s", maximum, scope.get("method"), scope.get("path"))
                    await self.refuse(send)
                    return {"type": "http.disconnect"}  # Django stops reading and answers nothing
            return message

        async def guarded_send(message):
            if not refused:  # once refused, the answer has been sent
                await send(message)

        return await self.app(scope, counting_receive, guarded_send)

    @staticmethod
    async def refuse(send) -> None:
        body = json.dumps(error_body()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """The same limit for requests that did not come through RequestLimits (test client, WSGI)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        declared = _content_length(request.META.get("CONTENT_LENGTH"))
        if declared is not None and declared > limit():
            return too_large_response()
        return self.get_response(request)
