"""Calls through a web process's own WSGI application (seatbooking/handlers.py), the lean path included,
which Django's test client would not take: for tests that must see every door's answer."""

import json
from dataclasses import dataclass
from functools import cache

from seatbooking.handlers import web_application
from tests.wsgi_calls import wsgi_call


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
    return Answer(*wsgi_call(application(), method, path, data, token=token, address=address))
