"""A call through a web process's own WSGI application (seatbooking/handlers.py), as granian and uvicorn
make them: the lean path included, which Django's test client would not take."""

import io

from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory


def wsgi_call(
    application,
    method: str,
    path: str,
    data: bytes = b"",
    *,
    content_type: str = "application/json",
    token: str | None = None,
    address: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and content of `application`'s answer."""
    request = RequestFactory().generic(method, path, data, content_type=content_type, headers=headers or {})
    environ = dict(request.environ, **{"wsgi.input": io.BytesIO(data), "CONTENT_LENGTH": str(len(data))})
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if address:
        environ["REMOTE_ADDR"] = address
    started: dict = {}

    def start_response(status, response_headers, exc_info=None):
        started.update(status=int(status.split()[0]), headers=dict(response_headers))

    # As Django's test client does: a test's transaction must outlive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = application(environ, start_response)
        content = b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return started["status"], started["headers"], content
