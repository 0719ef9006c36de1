"""Every API error is JSON: {"error": <a sentence a person can act on>, "code": <stable machine code>, ...}."""

from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from seatbooking.errors import ServiceError


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


def json_exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        return Response({"error": exc.message, "code": exc.code, **exc.extra}, status=exc.status)
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
            {"error": "Send the body as JSON with the header 'Content-Type: application/json'.",
             "code": "unsupported_media_type"},
            status=415,
        )
    response = exception_handler(exc, context)
    if response is not None:
        detail = getattr(exc, "detail", str(exc))
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = {"error": " ".join(_flatten(detail)), "code": code if isinstance(code, str) else "error"}
    return response


def service_error_response(exc: ServiceError) -> JsonResponse:
    """The same JSON error, for the plain Django views that DRF's handler does not cover."""
    return JsonResponse({"error": exc.message, "code": exc.code, **exc.extra}, status=exc.status)


def not_found(request, exception=None):
    return JsonResponse({"error": f"There is nothing at {request.path}.", "code": "no_such_path"}, status=404)


def server_error(request):
    return JsonResponse({"error": "Something went wrong on our side; it has been logged.", "code": "server_error"},
                        status=500)
