"""Who may reach an order: the holder of its token, the browser session that created it, or staff.

Without one of these the order's data never leaves the server: 404 when there is no such order,
403 when there is one that is not yours. Tokens end: an order's a while after it ended without a booking,
a booking's (and its links) a while after its flight (`token_ends_at`). An event stream also opens with a
short-lived ticket (`stream_ticket`), so that the long-lived token need not travel in its URL.
"""

import base64
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework.authentication import CSRFCheck

from core import browser_session, client_address
from core.errors import Forbidden, NotFound
from orders.models import OrderState, is_lapsed_hold
from orders.selectors import OrderKeys, order_keys

SESSION_KEY = "order_ids"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force. Any text
    # hashes (a lone surrogate too), so a token that cannot be right is simply a wrong one.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


BOOKING_TOKEN_SALT = "orders.access.booking_token"  # noqa: S105 - a salt (a namespace), not a secret


def booking_token(order_id: str, reference: str, version: int = 0, *, secret: str | bytes | None = None) -> str:
    """The token find-my-booking hands out for a confirmed order: an HMAC (salted_hmac, SECRET_KEY) of the
    order, its reference and its `booking_link_version`, so nothing secret is stored; an operator revokes
    every such token by bumping the version (the admin's "Revoke booking links")."""
    digest = salted_hmac(
        BOOKING_TOKEN_SALT, f"{order_id}:{reference}:{version}", secret=secret, algorithm="sha256"
    ).hexdigest()
    return "b-" + digest


def is_booking_token(token: str, *, order_id: str, reference: str, version: int) -> bool:
    """Whether `token` is the order's booking token under SECRET_KEY or one of SECRET_KEY_FALLBACKS (so a
    key rotation does not break the links already handed out). Compared as UTF-8 bytes: a token with other
    than ASCII in it (compare_digest refuses such strings) is just a wrong token."""
    presented = token.encode("utf-8", "surrogatepass")
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        if hmac.compare_digest(presented, booking_token(order_id, reference, version, secret=secret).encode()):
            return True
    return False


def remember_in_session(request: HttpRequest, order_id: str) -> None:
    ids = request.session.get(SESSION_KEY, [])
    if order_id not in ids:
        request.session[SESSION_KEY] = [*ids, order_id][-50:]


SESSION_ORDER_TOKEN_SALT = "orders.access.session_order_token"  # noqa: S105 - a salt (a namespace), not a secret


def session_order_token(request: HttpRequest, order_id: str) -> str | None:
    """The token of an order created in a browser session: an HMAC (salted_hmac, SECRET_KEY) of the session
    key and the order id, so that the same session repeating the create is told the same answer (a page that
    creates twice, a retried request) while nothing secret is stored. None without a session that exists
    (an unknown or expired session cookie is dropped when the session loads)."""
    session_key = browser_session.session_key(request)
    if not session_key:
        return None
    mac = salted_hmac(SESSION_ORDER_TOKEN_SALT, f"{session_key}\0{order_id}", algorithm="sha256")
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()  # 43 characters, like a random token


def presented_token(request: HttpRequest) -> str | None:
    header: str = request.META.get("HTTP_AUTHORIZATION", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    # EventSource cannot set headers, so reads also accept ?token=.
    if request.method in SAFE_METHODS:
        return request.GET.get("token") or None
    return None


ACTOR_MAX_LENGTH = 150  # AuditEntry.actor


def actor_for(via: str, request: HttpRequest) -> str:
    """Who asked, for the audit trail and the change's log line: how, and from which client address.

    E.g. "token@203.0.113.9", "session@2001:db8::7", "staff:olga@10.1.2.3", "api@198.51.100.7": the address
    is the one ClientAddressMiddleware worked out (the socket's peer unless it is a trusted proxy).
    """
    suffix = f"@{client_address.of(request)}"
    return via[: ACTOR_MAX_LENGTH - len(suffix)] + suffix


@dataclass(frozen=True)
class OrderAccess:
    order_id: str
    via: str  # how access was granted: "token", "session" or "staff:<name>"
    actor: str  # recorded in the audit trail: `via`@<client address>
    state: str = ""  # the order's state when access was checked: which change a call asks for (paid or not)

    @property
    def staff(self) -> bool:
        return self.via.startswith("staff:")


def authorize_order(request: HttpRequest, order_id: str) -> OrderAccess:
    """Check that `request` may act on the order, or raise NotFound/Forbidden. One query."""
    return authorize_with_keys(request, order_id, order_keys(order_id=order_id))


def authorize_with_keys(request: HttpRequest, order_id: str, keys: OrderKeys | None) -> OrderAccess:
    """`authorize_order` with the order's keys already read (None: there is no such order); a seat change
    reads them with its early check, in one statement (orders/hot_path.py)."""
    if keys is None:
        raise NotFound(f"There is no order {order_id!r}.", code="unknown_order")
    token = presented_token(request)
    if token is not None:
        if hmac.compare_digest(hash_token(token), keys.token_hash):
            _refuse_if_ended(token_ends_at(keys), what="This order's token")
            return OrderAccess(order_id, "token", actor_for("token", request), keys.state)
        reference, version = keys.reference, keys.booking_link_version
        if reference and is_booking_token(token, order_id=order_id, reference=reference, version=version):
            _refuse_if_ended(booking_link_ends_at(keys), what="This booking link")
            return OrderAccess(order_id, "token", actor_for("booking-token", request), keys.state)
        raise Forbidden(
            "That token does not open this order. Use the token returned when the order was created.",
            code="wrong_token",
        )
    if browser_session.is_staff(request):
        via = f"staff:{request.user.get_username()}"
        return OrderAccess(order_id, via, actor_for(via, request), keys.state)
    if order_id in request.session.get(SESSION_KEY, []):
        # A session (a shared computer's too) opens an order no longer than its token would.
        _refuse_if_ended(token_ends_at(keys), what="This browser's access to this order")
        if request.method not in SAFE_METHODS:
            _enforce_csrf(request)
        return OrderAccess(order_id, "session", actor_for("session", request), keys.state)
    raise Forbidden(
        "This order is not yours. Send its token as 'Authorization: Bearer <token>' "
        "(the token came back when the order was created).",
        code="token_required",
    )


ENDED_WITHOUT_BOOKING = (OrderState.FAILED, OrderState.EXPIRED, OrderState.CANCELLED)


def booking_link_ends_at(keys: OrderKeys) -> dt.datetime:
    """When a booking's links (and its order token) stop opening it: BOOKING_ACCESS_DAYS_AFTER_FLIGHT
    after the flight departs."""
    return keys.departs_at + dt.timedelta(days=settings.BOOKING_ACCESS_DAYS_AFTER_FLIGHT)


def token_ends_at(keys: OrderKeys, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the order's own token stops opening it (None: not while the order is open or paying).

    A booking's, with its links (`booking_link_ends_at`). An order that ended without one: its end (its
    last change, or the hold's deadline for a hold that lapsed and was not swept yet) plus
    ORDER_TOKEN_HOURS_AFTER_END."""
    now = now or timezone.now()
    if keys.state == OrderState.CONFIRMED:
        return booking_link_ends_at(keys)
    ended = keys.updated_at if keys.state in ENDED_WITHOUT_BOOKING else None
    if is_lapsed_hold(keys.state, keys.hold_expires_at, now):
        ended = keys.hold_expires_at
    return None if ended is None else ended + dt.timedelta(hours=settings.ORDER_TOKEN_HOURS_AFTER_END)


def _refuse_if_ended(ends_at: dt.datetime | None, *, what: str) -> None:
    if ends_at is None or timezone.now() < ends_at:
        return
    raise Forbidden(
        f"{what} stopped working on {ends_at:%d %B %Y at %H:%M} UTC. A booking opens again with Find my "
        "booking (the page /find-booking, or POST /bookings/find) and its reference and a passenger's last "
        "name, while its flight is less than "
        f"{settings.BOOKING_ACCESS_DAYS_AFTER_FLIGHT:g} days past.",
        code="token_expired",
    )


STREAM_TICKET_SALT = "orders.access.stream_ticket"


def stream_ticket(order_id: str) -> str:
    """A ticket that opens the order's event stream for STREAM_TICKET_SECONDS: the order id signed with a
    timestamp (TimestampSigner, SECRET_KEY), so nothing is stored. Only a request that may reach the order
    gets one (orders/streams.py)."""
    return signing.TimestampSigner(salt=STREAM_TICKET_SALT).sign(order_id).split(":", 1)[1]


def authorize_stream(request: HttpRequest, order_id: str) -> OrderAccess:
    """`authorize_order` for an event stream, which also opens with `?ticket=` (`stream_ticket`)."""
    ticket = request.GET.get("ticket")
    if ticket is None:
        return authorize_order(request, order_id)
    try:
        signing.TimestampSigner(salt=STREAM_TICKET_SALT).unsign(
            f"{order_id}:{ticket}", max_age=settings.STREAM_TICKET_SECONDS
        )
    except signing.SignatureExpired:
        raise Forbidden(
            f"This stream ticket is more than {settings.STREAM_TICKET_SECONDS} s old. Ask for a new one "
            f"(POST /orders/{order_id}/events/ticket) just before opening the stream.",
            code="stream_ticket_expired",
        ) from None
    except signing.BadSignature:
        raise Forbidden(
            f"That ticket does not open this order's stream. Ask for one with POST /orders/{order_id}/events/ticket.",
            code="wrong_stream_ticket",
        ) from None
    if order_keys(order_id=order_id) is None:  # gone since (the retention of abandoned orders)
        raise NotFound(f"There is no order {order_id!r}.", code="unknown_order")
    return OrderAccess(order_id, "ticket", actor_for("ticket", request))


def _enforce_csrf(request: HttpRequest) -> None:
    """A session is a cookie the browser sends by itself, so a change made by session needs the CSRF token."""
    django_request = getattr(request, "_request", request)
    # As DRF's SessionAuthentication.enforce_csrf does: the middleware never calls get_response or the view here.
    check = CSRFCheck(lambda r: None)  # type: ignore[arg-type]  # the stubs want a response-returning callable
    check.process_request(django_request)
    reason = check.process_view(django_request, None, (), {})  # type: ignore[arg-type]  # None: no view (not exempt)
    if reason:
        raise Forbidden(f"CSRF check failed ({reason}). Reload the page and try again.", code="csrf_failed")
