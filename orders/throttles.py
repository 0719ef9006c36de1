"""Throttles of find-my-booking: per client address, and per booking reference whoever asks, so that
neither one address nor many guess a reference's last name (settings.THROTTLE_RATES)."""

from typing import Any

from django.conf import settings
from rest_framework import throttling

from core import client_address


class FindBookingThrottle(throttling.SimpleRateThrottle):
    """Per client address (core/client_address.py). Used by the API view and, by hand, by the page."""

    scope = "find_booking"

    def get_rate(self) -> str | None:
        rate = settings.THROTTLE_RATES.get(self.scope)
        return rate if rate and rate != "off" else None

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_address.of(request)}


class FindBookingReferenceThrottle(FindBookingThrottle):
    """Per booking reference, as asked (upper-cased), whoever asks."""

    scope = "find_booking_reference"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        data = getattr(request, "data", None)
        if data is None:  # the page's form
            data = request.POST
        reference = data.get("reference") if hasattr(data, "get") else None
        if not isinstance(reference, str) or not reference.strip():
            return None  # nothing to count against: the request is refused as invalid anyway
        return self.cache_format % {"scope": self.scope, "ident": reference.strip().upper()[:16]}


def find_booking_wait(request: Any) -> float | None:
    """For a plain Django view: None if the request may look a booking up, else seconds to wait."""
    for throttle in (FindBookingThrottle(), FindBookingReferenceThrottle()):
        if not throttle.allow_request(request, None):  # type: ignore[arg-type]  # no view: the scope is the class's
            return throttle.wait() or 1.0
    return None
