"""Who a client is, for the limits on what one client may hold (orders/services/client_limits.py).

Two identities, counted separately: the client's address (core/client_address.py; an IPv6 address by its
/64, as every limit counts it) and, when the request has one, its browser session. Both are kept on the
order as keyed digests (HMAC with SECRET_KEY): the limits need only equality, and a session key, which
opens the session, is never stored. Staff are not limited: they have no identity here.
"""

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from core import client_address

CLIENT_KEY_SALT = "orders.clients.client_key"
DIGEST_LENGTH = 32  # hex characters: 128 bits, Order.client_address and client_session


@dataclass(frozen=True)
class ClientKeys:
    """The digests of a client's address and browser session ("" without a session)."""

    address: str
    session: str = ""


def digest(kind: str, value: str) -> str:
    return salted_hmac(CLIENT_KEY_SALT, f"{kind}\0{value}", algorithm="sha256").hexdigest()[:DIGEST_LENGTH]


def client_keys(request: HttpRequest) -> ClientKeys | None:
    """The request's client as the limits count it; None for staff (not limited)."""
    django_request = getattr(request, "_request", request)  # DRF's request authenticates nobody: Django's user
    user = getattr(django_request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return None
    session = getattr(request, "session", None)
    session_key = None
    if session is not None:
        session.keys()  # loads it: an unknown or expired session cookie names no session
        session_key = session.session_key
    return ClientKeys(
        address=digest("address", client_address.address_key(client_address.of(request))),
        session=digest("session", session_key) if session_key else "",
    )
