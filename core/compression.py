"""gzip for the answers that are worth it: HTML pages and JSON, whichever door answers (pages, DRF, the lean path).

Django's GZipMiddleware, limited to whole (not streaming) HTML and JSON bodies:
- an event stream (text/event-stream) is never compressed: gzip buffers, and each event must leave at once;
- whitenoise's static files (streamed) are served as they are: they have their own compressed copies;
- anything else (images, /metrics' text) is left alone.

Against BREACH (a secret in a compressed page guessed from its size), Django adds up to 100 random bytes to
each gzip header (since 4.2), and the pages' CSRF token is masked anew per request (docs/security.md).
"""

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.middleware.gzip import GZipMiddleware

COMPRESSED_TYPES = frozenset({"text/html", "application/json", "application/problem+json"})


class PageCompressionMiddleware(GZipMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        media_type = response.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if response.streaming or media_type not in COMPRESSED_TYPES:
            return response
        return super().process_response(request, response)
