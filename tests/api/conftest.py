"""Calls through the web processes' own WSGI application (seatbooking/handlers.py), as
granian and uvicorn make them: the lean path included, which Django's test client would not take."""

import io
import json
from dataclasses import dataclass

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory

from seatbooking.handlers import web_application


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: dict
    content: bytes

    def comparable(self) -> tuple:
        if "html" in self.body:  # the browsable API: its page carries a fresh CSRF token each time
            return self.status, self.headers["Content-Type"]
        body = {key: value for key, value in self.body.items() if key != "HoldExpiresAt"}  # moves on
        headers = {k: v for k, v in self.headers.items() if k not in ("Content-Length",)}
        return self.status, headers, body


@pytest.fixture(scope="module")
def application():
    return web_application()


@pytest.fixture
def call(application):
    def call(method: str, path: str, body=None, *, token: str | None = None, raw: bytes | None = None, **headers):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        request = RequestFactory().generic(
            method, path, data, content_type=headers.pop("content_type", "application/json"), headers=headers
        )
        environ = dict(request.environ, **{"wsgi.input": io.BytesIO(data), "CONTENT_LENGTH": str(len(data))})
        if token:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
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
        is_json = started["headers"].get("Content-Type", "").startswith("application/json")
        body = json.loads(content) if is_json else {"html": content}
        return Answer(started["status"], started["headers"], body, content)

    return call
