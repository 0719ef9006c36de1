"""The security headers of every page: django-csp's Content-Security-Policy and a Permissions-Policy.

The policy itself is settings.CONTENT_SECURITY_POLICY (seatbooking/abuse_settings.py); this middleware adds
two things django-csp leaves to its user:
- the Permissions-Policy header (Django has no setting for it), from settings.PERMISSIONS_POLICY;
- the browsable API's one exception: DRF's own page template sets a few inline style attributes, so its
  pages get settings.BROWSABLE_API_CSP_UPDATE (style attributes only: scripts stay as strict).
JSON answers get neither: a browser never renders them (and X-Content-Type-Options: nosniff keeps it so),
so the policies would only cost: 20 to 60 µs an answer, up to 3% of a status read. The lean path
(core/lean_handler.py) leaves this middleware out, and the full path skips JSON: both answer alike.
"""

from collections.abc import Callable

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from rest_framework.renderers import BrowsableAPIRenderer

PERMISSIONS_POLICY = "Permissions-Policy"
JSON = "application/json"


def permissions_policy(features: dict[str, list[str]]) -> str:
    """The header's value: `camera=()` for a feature no origin may use, `fullscreen=(self)` for this one."""
    return ", ".join(f"{feature}=({' '.join(origins)})" for feature, origins in features.items())


class ResponseHeadersMiddleware(CSPMiddleware):
    """Content-Security-Policy (django-csp) and Permissions-Policy on every answer but JSON that has none yet."""

    def __init__(self, get_response: Callable) -> None:
        super().__init__(get_response)
        self.permissions_policy = permissions_policy(settings.PERMISSIONS_POLICY)

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if response.get("Content-Type", "").startswith(JSON):
            return response
        if isinstance(getattr(response, "accepted_renderer", None), BrowsableAPIRenderer):
            response._csp_update = settings.BROWSABLE_API_CSP_UPDATE  # type: ignore[attr-defined]
        response = super().process_response(request, response)
        if self.permissions_policy and PERMISSIONS_POLICY not in response:
            response[PERMISSIONS_POLICY] = self.permissions_policy
        return response
