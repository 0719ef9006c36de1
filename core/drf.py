"""DRF classes named in settings.REST_FRAMEWORK or by API views.

Kept apart from api_errors (which imports rest_framework.views): rest_framework.views reads
DEFAULT_PARSER_CLASSES when it is first imported, so a parser living in a module that imports
rest_framework.views is a circular import whenever that module happens to be imported first.
"""

from django.conf import settings
from rest_framework import exceptions, negotiation, parsers, throttling


class JSONParser(parsers.JSONParser):
    """DRF's parser, plus: a body nested too deeply for Python's decoder is malformed JSON, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON nested too deeply") from None


class ContentNegotiation(negotiation.DefaultContentNegotiation):
    """DRF's negotiation, plus: a body sent without Content-Type, or as text/plain (what `fetch` says of a
    string body), is read as JSON, as the original system read every body; its clients and quick scripts
    often leave the header out. Another declared type (a form) is still a 415, and such a body that is not
    JSON a 400."""

    def select_parser(self, request, parsers):
        media_type = request.content_type.split(";", 1)[0].strip().lower()
        if media_type in ("", "text/plain"):
            return next((parser for parser in parsers if isinstance(parser, JSONParser)), None)
        return super().select_parser(request, parsers)


class ScopedThrottle(throttling.ScopedRateThrottle):
    """DRF's scoped throttle, with rates read from settings.THROTTLE_RATES when a request comes."""

    def get_rate(self):
        rate = settings.THROTTLE_RATES.get(self.scope) if self.scope else None
        return rate if rate and rate != "off" else None  # "off": no limit, and no cache round trip
