"""Throttles shared by the doors of a change (settings.THROTTLE_RATES): the pages count with the API's views,
per scope and client address, through the API's own throttle classes and cache keys (scoped_wait), so a
client cannot get round the API's limit by posting the page forms.

Find-my-booking has its own:

- per client address, every request (an IPv6 address counted by its /64: one host is given a whole /64);
- per booking reference, failed lookups only, whoever asks (a malformed request or the owner's own
  success does not count, so junk cannot lock the owner out as cheaply);
- all references together, failed lookups only: one common last name tried against many random
  references is bounded overall.
"""

import time
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework import throttling

from core import client_address
from core.client_address import address_key
from core.drf import ScopedThrottle
from core.errors import ServiceError
from orders.lookup import BookingNotFound, find_booking, normal_reference
from orders.models import Order


class FindBookingThrottle(throttling.SimpleRateThrottle):
    """Per client address (core/client_address.py). Used by the API view and, by hand, by the page."""

    scope = "find_booking"

    def get_rate(self) -> str | None:
        rate = settings.THROTTLE_RATES.get(self.scope)
        return rate if rate and rate != "off" else None

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": address_key(client_address.of(request))}


class LookupThrottled(ServiceError):
    status = 429
    code = "throttled"


class FailedLookups:
    """Failed lookups of one key in the rate's sliding window (the cache holds their times)."""

    def __init__(self, scope: str, ident: str) -> None:
        rate = settings.THROTTLE_RATES.get(scope)
        parsed = throttling.SimpleRateThrottle.parse_rate(None, rate if rate != "off" else None)  # type: ignore[arg-type]  # (it uses no self)
        self.rate: tuple[int, int] | None = None if parsed[0] is None else (int(parsed[0]), int(parsed[1] or 1))
        self.key = f"throttle_{scope}_{ident}"

    def _recent(self, now: float) -> list[float]:
        assert self.rate is not None
        return [t for t in cache.get(self.key, []) if t > now - self.rate[1]]

    def wait(self, now: float) -> int | None:
        """Seconds until another failure may be tried, or None if one may be now."""
        if self.rate is None:
            return None
        recent = self._recent(now)
        if len(recent) < self.rate[0]:
            return None
        return max(1, round(min(recent) + self.rate[1] - now))

    def record(self, now: float) -> None:
        if self.rate is not None:
            cache.set(self.key, [now, *self._recent(now)][: self.rate[0]], self.rate[1])


def find_booking_throttled(*, reference: str, last_name: str) -> Order:
    """find_booking, refused (429, saying which limit) while this reference, or all of them together,
    have had too many failed lookups; a failed lookup counts against both."""
    now = time.time()
    per_reference = FailedLookups("find_booking_reference", normal_reference(reference)[:16])
    overall = FailedLookups("find_booking_failures", "all")
    wait = per_reference.wait(now)
    if wait is not None:
        raise _throttled(
            f"Too many failed attempts for this booking reference; try again in {wait} s.", wait, limit="reference"
        )
    wait = overall.wait(now)
    if wait is not None:
        raise _throttled(
            f"Too many failed attempts to find bookings just now; try again in {wait} s.", wait, limit="overall"
        )
    try:
        return find_booking(reference=reference, last_name=last_name)
    except BookingNotFound:
        per_reference.record(now)
        overall.record(now)
        raise


def _throttled(message: str, wait: int, *, limit: str) -> LookupThrottled:
    error = LookupThrottled(message, retry_after=wait, limit=limit)
    error.retry_after = wait
    return error


def find_booking_wait(request: Any) -> float | None:
    """For a plain Django view: None if this address may look a booking up, else seconds to wait."""
    throttle = FindBookingThrottle()
    if not throttle.allow_request(request, None):  # type: ignore[arg-type]  # no view: the scope is the class's
        return throttle.wait() or 1.0
    return None


def scoped_wait(request: Any, *, scope: str) -> float | None:
    """For a page's handler: None if this client may make one more change of `scope` now, else seconds to
    wait. The API's ScopedThrottle with a view of that scope: the same rate and cache key, so requests
    through either door count against one limit."""
    throttle = ScopedThrottle()
    if not throttle.allow_request(request, SimpleNamespace(throttle_scope=scope)):  # type: ignore[arg-type]
        return throttle.wait() or 1.0
    return None
