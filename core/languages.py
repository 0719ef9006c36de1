"""The languages the pages and emails speak (settings.LANGUAGES), and the one a request asks for."""

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import get_language_from_request, get_supported_language_variant


def supported_language(code: str) -> str:
    """`code` as one of settings.LANGUAGES ("pt-PT" -> "pt"), or "" (the default) for one not spoken."""
    if not code:
        return ""
    try:
        return get_supported_language_variant(code)
    except LookupError:
        return ""


def request_language(request: HttpRequest) -> str:
    """The request's language: the switcher's cookie, else Accept-Language, else the default. Read from the
    request itself, for the API's lean path too, which runs without LocaleMiddleware."""
    return supported_language(get_language_from_request(request)) or settings.LANGUAGE_CODE
