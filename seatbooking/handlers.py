"""The WSGI application of a web process (granian's workers load it through wsgi.py; the ASGI process runs it
on its request threads): the hot API calls' lean path (orders/hot_path.py) beside Django's handler."""

from typing import Any

from django.core.handlers.wsgi import WSGIHandler

from core.lean_handler import LeanHandler
from orders.hot_path import is_hot


def web_application() -> Any:
    full, lean = WSGIHandler(), LeanHandler(urlconf="seatbooking.lean_urls")

    def application(environ: dict[str, Any], start_response: Any) -> Any:
        return (lean if is_hot(environ) else full)(environ, start_response)

    return application
