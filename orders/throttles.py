"""Throttles shared by the doors of a change (settings.THROTTLE_RATES): the pages count with the API's views,
per scope and client address, through the API's own throttle classes and cache keys (scoped_wait), so a
client cannot get round the API's limit by posting the page forms.

Find-my-booking has its own, none of which can refuse the right reference and name because of other
people's failures (docs/security.md#find-my-booking):

- per client address (an IPv6 address counted by its /64), every request: a rate (FindBookingThrottle);
- per client address, failed lookups: a few are free, then each makes the address wait before its next
  lookup, doubling up to a longest wait (a malformed request or a success does not count);
- per booking reference as typed, failed lookups whoever asks: past a few, each further failure makes the
  address that failed wait before it may try that reference again, doubling likewise. Only addresses that
  failed wait: the owner typing the right name from anywhere else gets in.

All of them count typed references, whether or not a booking has them, and refuse before the lookup runs,
so neither a refusal nor its wording says whether a reference exists.
"""

import math
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


def backoff_seconds(excess: int) -> float:
    """The wait after the `excess`-th failure beyond the free ones: the base wait, doubled each time, capped."""
    doubled = settings.FIND_BOOKING_BACKOFF_SECONDS * 2 ** min(max(excess, 1) - 1, 40)
    return min(doubled, settings.FIND_BOOKING_BACKOFF_MAX_SECONDS)


class FailedLookups:
    """The failed lookups of one key and the moment until which it must wait (in the cache), forgotten
    FIND_BOOKING_FAILURE_MEMORY_SECONDS after the last one."""

    def __init__(self, kind: str, ident: str) -> None:
        self.key = f"find_booking_{kind}_{ident}"

    def _state(self) -> tuple[int, float]:
        count, until = cache.get(self.key, (0, 0.0))
        return int(count), float(until)

    def wait(self, now: float) -> int | None:
        """Seconds until this key may look a booking up, or None if it may now."""
        _count, until = self._state()
        return max(1, math.ceil(until - now)) if until > now else None

    def record(self, now: float, *, free: int | None) -> int:
        """One more failure; past `free` of them (None: never), a wait from now by the backoff. Returns the count."""
        count, until = self._state()
        count += 1
        if free is not None and count > free:
            until = max(until, now + backoff_seconds(count - free))
        cache.set(self.key, (count, until), settings.FIND_BOOKING_FAILURE_MEMORY_SECONDS)
        return count

    def hold(self, now: float, seconds: float) -> None:
        """Make this key wait `seconds` from now (or longer, if it already must)."""
        count, until = self._state()
        cache.set(self.key, (count, max(until, now + seconds)), settings.FIND_BOOKING_FAILURE_MEMORY_SECONDS)


def find_booking_throttled(*, reference: str, last_name: str, address: str) -> Order:
    """find_booking for a client at `address`, refused (429, saying which wait) while that address must wait
    after its own failed lookups, or after failing on this reference while it was being guessed."""
    now = time.time()
    typed = normal_reference(reference)[:16]
    counted = address_key(address)
    by_address = FailedLookups("address", counted)
    on_reference = FailedLookups("address_reference", f"{counted}_{typed}")
    wait = by_address.wait(now)
    if wait is not None:
        raise _throttled(f"Too many failed attempts from your address; try again in {wait} s.", wait, limit="address")
    wait = on_reference.wait(now)
    if wait is not None:
        raise _throttled(
            f"Too many failed attempts for this booking reference from your address; try again in {wait} s.",
            wait,
            limit="reference",
        )
    try:
        return find_booking(reference=reference, last_name=last_name)
    except BookingNotFound:
        by_address.record(now, free=settings.FIND_BOOKING_FREE_FAILURES)
        guessed = (
            FailedLookups("reference", typed).record(now, free=None) - settings.FIND_BOOKING_REFERENCE_FREE_FAILURES
        )
        if guessed > 0:  # this reference is being guessed: whoever fails on it waits before trying it again
            on_reference.hold(now, backoff_seconds(guessed))
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
