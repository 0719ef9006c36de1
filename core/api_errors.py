"""Every API error is JSON: {"error": <a sentence a person can act on>, "code": <stable machine code>, ...}."""

import contextlib
import sys
from functools import wraps

import psycopg
from django import db
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.database import drop_broken_connections, no_answer
from core.errors import DatabaseUnavailable, ServiceError
from core.logs import name_refusal
from core.request_limits import too_large_response


def _flatten(detail, prefix: str = "") -> list[str]:
    """Turn DRF's nested validation detail into 'field: message' sentences."""
    if isinstance(detail, dict):
        out: list[str] = []
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else f"{prefix}{key}"
            out += _flatten(value, f"{name}." if name else "")
        return out
    if isinstance(detail, list):
        return [m for item in detail for m in _flatten(item, prefix)]
    field = prefix.rstrip(".")
    return [f"{field}: {detail}" if field else str(detail)]


DATABASE_ERRORS = (db.OperationalError, db.InterfaceError)


def json_exception_handler(exc, context):
    if isinstance(exc, DATABASE_ERRORS):  # the database is away (or the pool is full)
        after_database_error(exc)
        exc = DatabaseUnavailable()
    if isinstance(exc, ServiceError) and exc.status in (429, 503):  # e.g. "429 client_hold_limit", not "throttled"
        name_refusal(context.get("request"), f"{exc.status} {exc.code}")
    if isinstance(exc, ServiceError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return Response({"error": exc.message, "code": exc.code, **exc.extra}, status=exc.status, headers=headers)
    if isinstance(exc, exceptions.ValidationError):
        return Response(
            {"error": " ".join(_flatten(exc.detail)), "code": "invalid", "fields": exc.detail},
            status=400,
        )
    if isinstance(exc, exceptions.ParseError):
        return Response(
            {"error": f"The body is not valid JSON ({exc.detail}). Send a JSON object.", "code": "malformed_json"},
            status=400,
        )
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return Response(
            {
                "error": "Send the body as JSON with the header 'Content-Type: application/json'.",
                "code": "unsupported_media_type",
            },
            status=415,
        )
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)  # type: ignore[attr-defined]  # the stubs leave out Throttled.wait
        response = exception_handler(exc, context)
        assert response is not None  # DRF answers every APIException
        response.data = {
            "error": f"Too many requests from your address; try again in {wait} s.",
            "code": "throttled",
            "retry_after": wait,
        }
        return response
    response = exception_handler(exc, context)
    if response is not None:
        detail = getattr(exc, "detail", str(exc))
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = {"error": " ".join(_flatten(detail)), "code": code if isinstance(code, str) else "error"}
    return response


def service_error_response(exc: ServiceError) -> JsonResponse:
    """The same JSON error, for the plain Django views that DRF's handler does not cover."""
    response = JsonResponse({"error": exc.message, "code": exc.code, **exc.extra}, status=exc.status)
    if exc.retry_after:
        response["Retry-After"] = str(exc.retry_after)
    return response


# Django's own error pages, as JSON for API clients; browsers (Accept: text/html) get the HTML pages.


# The traveller's pages (seatbooking/urls.py): a path under them that matches no route is the site's 404
# page whoever asks, e.g. /booking/<an id that cannot exist>.
PAGE_PATHS = ("/book/", "/booking/", "/find-booking")


def _wants_html(request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):  # Django's own body limit: the same 413 as at the door
        return too_large_response()
    if _wants_html(request):
        return defaults.bad_request(request, exception)
    reason = str(exception) if exception else "The request could not be understood."
    return JsonResponse({"error": f"Bad request: {reason}", "code": "bad_request"}, status=400)


def permission_denied(request, exception=None):
    if _wants_html(request):
        return defaults.permission_denied(request, exception)
    return JsonResponse({"error": "Forbidden.", "code": "forbidden"}, status=403)


def csrf_failure(request, reason=""):
    if _wants_html(request):
        return django_csrf_failure(request, reason)
    return JsonResponse(
        {
            "error": f"CSRF check failed ({reason}). Send the order's token as 'Authorization: "
            "Bearer <token>', or the CSRF token with a session.",
            "code": "csrf_failed",
        },
        status=403,
    )


def not_found(request, exception=None):
    if _wants_html(request) or request.path.startswith(PAGE_PATHS):
        return defaults.page_not_found(request, exception)
    return JsonResponse({"error": f"There is nothing at {request.path}.", "code": "no_such_path"}, status=404)


def server_error(request):
    # Django calls this while handling the exception: a database that is away is a 503 with Retry-After
    # at every door (pages, the lean path, streams), as DRF's views answer it, never a 500.
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_ERRORS):
        after_database_error(exc)
        name_refusal(request, f"503 {DatabaseUnavailable.code}")
        return database_unavailable(request)
    if _wants_html(request):
        return defaults.server_error(request)
    return JsonResponse(
        {"error": "Something went wrong on our side; it has been logged.", "code": "server_error"}, status=500
    )


def json_get_only(view):
    """For the plain (non-DRF) GET endpoints: another method is a JSON 405, not a CSRF page."""

    @wraps(view)
    async def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            response = JsonResponse(
                {"error": f"{request.method} is not allowed here; use GET.", "code": "method_not_allowed"}, status=405
            )
            response["Allow"] = "GET, HEAD"
            return response
        return await view(request, *args, **kwargs)

    return csrf_exempt(wrapper)


def after_database_error(exc: BaseException) -> None:
    """A broken connection (not a database that does not answer) means the pool's others are likely broken too."""
    if not no_answer(exc):
        with contextlib.suppress(*DATABASE_ERRORS, psycopg.Error):
            drop_broken_connections()


def database_unavailable(request):
    exc = DatabaseUnavailable()
    if _wants_html(request):
        # Rendered without the request: its context (the user, the session) would ask the database.
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(exc.retry_after)
        return response
    return service_error_response(exc)
