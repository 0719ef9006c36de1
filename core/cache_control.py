"""`Cache-Control: no-store` on every answer that may carry an order's data or a secret: no browser,
proxy or back button keeps a copy of a status, a booking page, a receipt, a token or a passenger's name.

Which answers: those to the paths under settings.NO_STORE_PATHS (the order API, the booking pages, find my
booking), whatever door answered them: this middleware is in MIDDLEWARE, hence also in the lean path's
LEAN_MIDDLEWARE and around the event streams.
"""

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.deprecation import MiddlewareMixin


class NoStoreMiddleware(MiddlewareMixin):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if request.path.startswith(tuple(settings.NO_STORE_PATHS)):
            response.headers["Cache-Control"] = "no-store"  # replaces a weaker one (a stream's no-cache)
        return response
