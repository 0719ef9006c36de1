"""The admin's login, protected against password guessing and against starving the request threads.

- django-axes counts failed logins per (username, client address) and per client address, and locks the
  pair or the address out for a cool-off (settings.AXES_*). Its backend comes first in
  AUTHENTICATION_BACKENDS: a locked-out attempt is refused before any password is hashed.
- Hashing a password (PBKDF2, about a third of a second of CPU) runs here for at most
  ADMIN_LOGIN_HASHES_AT_ONCE logins per process at once; one more is refused at once (503 busy, the
  login page again) instead of waiting for, or taking, a thread a booking request needs.
- The address counted is the client's as core/client_address.py works it out, an IPv6 one by its /64
  (stored as the /64's first address: axes keeps addresses in an address column).
"""

import ipaddress
import threading
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache

from core import client_address

BUSY_RETRY_AFTER_SECONDS = 1


class LoginBusy(Exception):
    """Every hashing slot of this process is taken: the login is refused without hashing."""


_hashing = threading.BoundedSemaphore(max(1, settings.ADMIN_LOGIN_HASHES_AT_ONCE))


class BoundedPasswordBackend(ModelBackend):
    """Django's password check (and its permissions), run by at most ADMIN_LOGIN_HASHES_AT_ONCE threads of
    this process at once. It hashes even for an unknown username (Django does, so that timing does not
    tell usernames apart), so every attempt that gets this far takes a slot."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ):
        if not _hashing.acquire(blocking=False):
            raise LoginBusy
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        finally:
            _hashing.release()


def counted_address(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the client's address as limits count it (an IPv6 /64 as its first address);
    None for a request that came from no address (a login made in code, such as the tests' force_login):
    axes keeps addresses in an address column, which refuses 'unknown'."""
    key = client_address.address_key(client_address.of(request))
    try:
        return str(ipaddress.ip_network(key, strict=False).network_address)
    except ValueError:
        return None


@never_cache
def login(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """The admin's login view; a login refused for want of a hashing slot gets the page again, 503 busy."""
    try:
        return admin.site.login(request, **kwargs)
    except LoginBusy:
        message = f"Too many logins are being checked right now. Nothing was checked; try again in {BUSY_RETRY_AFTER_SECONDS} s."
        return login_page_again(request, message, status=503, retry_after=BUSY_RETRY_AFTER_SECONDS)


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the login page again, 429, saying for how long. Every attempt while locked out
    starts the cool-off again (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so the full cool-off is the wait."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    message = (
        "Too many failed logins for this account from your address, or from your address altogether. Try again "
        f"in {minutes} minutes; each attempt before then starts the wait again. An operator can lift the lock "
        "(manage.py axes_reset_ip or axes_reset_username)."
    )
    return login_page_again(request, message, status=429, retry_after=int(settings.AXES_COOLOFF_TIME.total_seconds()))


def login_page_again(request: HttpRequest, message: str, *, status: int, retry_after: int) -> HttpResponse:
    """The admin's login page with `message` above the form (the username as typed kept, never the password)."""
    username = request.POST.get("username", "")[:150] if request.method == "POST" else ""
    context = {
        **admin.site.each_context(request),
        "title": "Log in",
        "subtitle": None,
        "app_path": request.get_full_path(),
        "form": AdminAuthenticationForm(request, initial={"username": username}),
        "refusal": message,
        REDIRECT_FIELD_NAME: request.POST.get(REDIRECT_FIELD_NAME) or reverse("admin:index"),
    }
    response = render(request, "admin/login_refused.html", context, status=status)
    response["Retry-After"] = str(retry_after)
    # The lockout comes from axes' middleware, where the login view's never_cache does not reach.
    add_never_cache_headers(response)
    return response
