"""Calls through a web process's own WSGI application (seatbooking/handlers.py), the lean path included,
which Django's test client would not take: for tests that must see every door's answer."""

import io
import json
from dataclasses import dataclass
from functools import cache

from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory

from seatbooking.handlers import web_application


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]
    content: bytes

    def json(self) -> dict:
        return json.loads(self.content)

    def get(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default)


@cache
def application():
    return web_application()


def lean_call(
    method: str, path: str, body: dict | None = None, *, token: str | None = None, address: str | None = None
) -> Answer:
    data = json.dumps(body).encode() if body is not None else b""
    request = RequestFactory().generic(method, path, data, content_type="application/json")
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
        response = application()(environ, start_response)
        content = b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return Answer(started["status"], started["headers"], content)
