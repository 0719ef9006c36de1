"""The lean path of the two hottest calls: a seat change and a status read, as API clients make them.

During a flash sale nearly every request is one of these two, and Django's middleware for pages
(sessions, CSRF, users, messages, static files) and DRF's request handling cost a quarter of a seat
change's CPU (measured in-process: 1.25 ms through DRF and the whole middleware, 0.92 ms this way). So
the web processes send these requests to a second Django handler (core/lean_handler.py,
seatbooking/handlers.py) with the middleware that an API call needs (client address, queue wait, body
limit, timing, CORS, security headers: settings.LEAN_MIDDLEWARE) and a plain view each:

- which requests: POST /orders/{id}/seats and GET /orders/{id}/status with `Authorization: Bearer`,
  no cookie (so no session could apply), no query string and an Accept that DRF would answer with
  plain JSON (the browsable API and every other rendering are DRF's; `is_hot`);
- what they do: the same throttle, authorisation, service and JSON answer as DRF's views, and the
  same JSON errors (core/api_errors.py renders them).

A body that is not a plain `{"seats": [...]}` of well-formed labels in UTF-8 JSON (within the seat limit,
none repeated), and a throttled request, go on to DRF's view from here, so every refusal of input and
every 429 is DRF's, worded in one place.
"""

import json
import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from core.api_errors import json_exception_handler
from core.drf import ScopedThrottle
from flights.layout import is_seat_label
from orders import services
from orders.access import authorize_order, authorize_with_keys
from orders.api import OrderStatusView, SelectSeatsView
from orders.inputs import ORDER_ID_CHARACTERS
from orders.selectors import get_order_status, read_before_seat_change

_seats_view = SelectSeatsView.as_view()
_renderer = JSONRenderer()


def _allowed_methods(view_class: type[APIView]) -> str:
    """The view's Allow header (set up as for a request: Django adds HEAD where there is GET)."""
    view = view_class()
    view.setup(HttpRequest())
    return ", ".join(view.allowed_methods)


SEATS_ALLOW, STATUS_ALLOW = _allowed_methods(SelectSeatsView), _allowed_methods(OrderStatusView)


@csrf_exempt
def change_seats(request: HttpRequest, order_id: str) -> HttpResponse:
    utf8 = (request.content_params or {}).get("charset", "utf-8").lower() in ("utf-8", "utf8")
    labels = _plain_seats(request.body) if request.content_type == "application/json" and utf8 else None
    request.user = AnonymousUser()  # the throttle keys anonymous callers by address
    if labels is None or not ScopedThrottle().allow_request(request, SelectSeatsView):  # type: ignore[arg-type]
        response = _seats_view(request, order_id=order_id)
        # As on the full path, where the locale and session middleware add them (in this order).
        patch_vary_headers(response, ["Accept-Language", "Cookie"])
        return response
    try:
        # The token check and the early refusal in one statement: a hot seat's losers cost one read.
        now = timezone.now()
        read = read_before_seat_change(order_id=order_id, labels=labels, now=now)
        access = authorize_with_keys(request, order_id, read.keys if read else None)
        assert read is not None  # authorize_with_keys refuses an order that does not exist
        change = services.change_seats_or_selection(
            order_id=access.order_id, labels=labels, state=access.state, actor=access.actor, now=now, before=read
        )
    except Exception as exc:  # noqa: BLE001 - what DRF's handler answers is answered the same; the rest is re-raised
        return _error(exc, SEATS_ALLOW)
    return _json({"status": "seats updated", **change.status}, SEATS_ALLOW)


def order_status(request: HttpRequest, order_id: str) -> HttpResponse:
    try:
        access = authorize_order(request, order_id)
        status = get_order_status(order_id=access.order_id)
    except Exception as exc:  # noqa: BLE001
        return _error(exc, STATUS_ALLOW)
    return _json(status, STATUS_ALLOW)


def _plain_seats(body: bytes) -> list[str] | None:
    """The labels of a body that is exactly {"seats": [<well-formed labels>]}, at most MAX_SEATS_PER_ORDER of
    them and each once (else the early read would look up every label of the body before the limits refuse
    it); None for anything else."""
    try:  # as DRF's parser reads it: UTF-8, strictly (json.loads would guess UTF-16 and skip a BOM)
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    if type(data) is not dict or len(data) != 1:
        return None
    labels = data.get("seats")  # the input contract's label check (orders/inputs.py), without its exception
    if type(labels) is not list or not all(is_seat_label(label) for label in labels):
        return None
    if len(labels) > settings.MAX_SEATS_PER_ORDER or len(set(labels)) != len(labels):
        return None
    return labels


def _json(payload: Mapping[str, Any], allow: str, status: int = 200) -> HttpResponse:
    response = HttpResponse(_renderer.render(payload), content_type="application/json", status=status)
    # As DRF's views answer: the same URL answers HTML to a browser, in the asked language, and otherwise by a
    # session's cookie.
    response["Vary"], response["Allow"] = "Accept, Accept-Language, Cookie", allow
    return response


def _error(exc: Exception, allow: str) -> HttpResponse:
    answer = json_exception_handler(exc, {})
    if answer is None:
        raise exc
    response = _json(answer.data, allow, status=answer.status_code)
    for name, value in answer.items():  # Retry-After, WWW-Authenticate (not its unrendered Content-Type)
        if name.lower() != "content-type":
            response[name] = value
    return response


_HOT = re.compile(f"/orders/{ORDER_ID_CHARACTERS}/(seats|status)")  # an id that cannot exist: the full 404


def is_hot(environ: dict[str, Any]) -> bool:
    """Whether a request takes the lean path (the module's docstring): the API client's plain call, which
    DRF would answer with its JSON renderer; anything it would negotiate otherwise (another Accept, a
    ?format=, a cookie's session) goes to DRF."""
    match = _HOT.fullmatch(environ.get("PATH_INFO", ""))
    if match is None or environ.get("HTTP_COOKIE") or environ.get("QUERY_STRING"):
        return False
    if environ.get("HTTP_AUTHORIZATION", "")[:7].lower() != "bearer " or not _accepts_plain_json(environ):
        return False
    return environ["REQUEST_METHOD"] == ("POST" if match.group(1) == "seats" else "GET")


_PLAIN_JSON_RANGES = {"*/*", "application/*", "application/json"}


def _accepts_plain_json(environ: dict[str, Any]) -> bool:
    """No Accept, or only ranges that DRF's negotiation answers with its JSON renderer as is (a parameter
    such as indent=2 changes the rendering, so it goes to DRF)."""
    for media_range in environ.get("HTTP_ACCEPT", "*/*").split(","):
        media_type, *params = (part.strip() for part in media_range.split(";"))
        if media_type.lower() not in _PLAIN_JSON_RANGES or any(not p.startswith("q=") for p in params if p):
            return False
    return True
