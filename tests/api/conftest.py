"""Calls through the web processes' own WSGI application (seatbooking/handlers.py), as
granian and uvicorn make them: the lean path included, which Django's test client would not take."""

import json
from dataclasses import dataclass

import pytest

from seatbooking.handlers import web_application
from tests.wsgi_calls import wsgi_call


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
        content_type = headers.pop("content_type", "application/json")
        status, answer_headers, content = wsgi_call(
            application, method, path, data, content_type=content_type, token=token, headers=headers
        )
        is_json = answer_headers.get("Content-Type", "").startswith("application/json")
        body = json.loads(content) if is_json else {"html": content}
        return Answer(status, answer_headers, body, content)

    return call
