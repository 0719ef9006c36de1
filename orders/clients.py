"""Who a client is, for the limits on what one client may hold (orders/services/client_limits.py).

Two identities, counted separately: the client's address (core/client_address.py; an IPv6 address by its
/64, as every limit counts it) and, when the request has one, its browser session. Both are kept on the
order as keyed digests (HMAC with SECRET_KEY): the limits need only equality, and a session key, which
opens the session, is never stored. Staff are not limited: they have no identity here.
"""

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from core import browser_session, client_address

CLIENT_KEY_SALT = "orders.clients.client_key"
DIGEST_LENGTH = 32  # hex characters: 128 bits, Order.client_address and client_session


@dataclass(frozen=True)
class ClientKeys:
    """The digests of a client's address and browser session ("" without a session)."""

    address: str
    session: str = ""


def digest(kind: str, value: str) -> str:
    return salted_hmac(CLIENT_KEY_SALT, f"{kind}\0{value}", algorithm="sha256").hexdigest()[:DIGEST_LENGTH]


def client_keys(request: HttpRequest, *, create_session: bool = False) -> ClientKeys | None:
    """The request's client as the limits count it; None for staff (not limited). `create_session`: a
    browser without a session gets one first (core/browser_session.py), so that a fresh browser's first
    order counts for the session it goes on with (the page form that starts a booking)."""
    if browser_session.is_staff(request):
        return None
    session_key = browser_session.session_key(request, create=create_session)
    return ClientKeys(
        address=digest("address", client_address.address_key(client_address.of(request))),
        session=digest("session", session_key) if session_key else "",
    )
