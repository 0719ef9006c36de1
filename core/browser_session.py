"""What a request's browser session says about its client, defined once: the session's key (the client limits
count it, an Idempotency-Key is bound to it, an order created in it derives its token from it) and whether
it is an active staff login."""

from django.http import HttpRequest


def session_key(request: HttpRequest, *, create: bool = False) -> str:
    """The key of the request's browser session; "" without one. The session is loaded first: an unknown or
    expired session cookie names no session. `create`: a request without one gets one now (stored at once,
    its cookie sent with the answer once the session holds something), for a request whose change must
    count for the session the browser goes on with, such as a fresh browser's first order."""
    session = getattr(request, "session", None)
    if session is None:  # a request the session middleware never saw (the lean path: it has no cookie)
        return ""
    session.keys()  # loads it
    if create and not session.session_key:
        session.create()
    return session.session_key or ""


def is_staff(request: HttpRequest) -> bool:
    """Whether the request comes from an active staff login. Django's request's user, as the authentication
    middleware found it (a DRF request is read through to it)."""
    django_request = getattr(request, "_request", request)
    user = getattr(django_request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)
