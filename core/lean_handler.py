"""A second Django handler for a few hot API calls: the middleware an API call needs, and a URLconf of its own.

Django builds one middleware chain per handler from settings.MIDDLEWARE, and most of that chain is for
pages and the browsable API (sessions, CSRF, users, messages, static files). A web process runs this
handler beside Django's own and sends it only the requests its owner picks (seatbooking/handlers.py).
"""

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest


class LeanHandler(WSGIHandler):
    """Django's WSGI handler with settings.LEAN_MIDDLEWARE and the URLconf `urlconf`."""

    def __init__(self, urlconf: str) -> None:
        self.urlconf = urlconf
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        configured = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.LEAN_MIDDLEWARE  # read by load_middleware only, once, at start
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = configured

    def resolve_request(self, request: HttpRequest):
        request.urlconf = self.urlconf  # Django's documented per-request URLconf
        return super().resolve_request(request)
