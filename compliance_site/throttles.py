"""A per-IP limit on every API endpoint an anonymous caller can reach (the public audit proofs,
the erasure-status token, the purposes...). Signed-in callers are not counted here; the sign-in
endpoints keep their own, stricter send windows (consent.identity.services)."""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle

from compliance_site.client_address import client_ip_for, ip_limit_key


class PublicRateThrottle(AnonRateThrottle):
    """Django-cache counters keyed by the client's address; the rate is read from the
    ``PUBLIC_API_RATE`` setting on each request (so an override takes effect at once). A 429
    carries ``{"code": "rate_limited"}`` and ``Retry-After`` (compliance_site.api)."""

    scope = "public"

    def get_rate(self) -> str:
        return settings.PUBLIC_API_RATE

    def get_ident(self, request) -> str:
        """The address the sign-in limits count (``client_address``: REMOTE_ADDR, or the
        last hop of ``CLIENT_IP_HEADER``; an IPv6 /64 as one). DRF's own reads any
        ``X-Forwarded-For`` the client sends, which would let a caller pick its identity."""
        return ip_limit_key(client_ip_for(request))

    def allow_request(self, request, view) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
