"""The client's address as every layer counts it: one reading of ``CLIENT_IP_HEADER`` for the
sign-in send limits (consent's identity) and the public API throttle alike."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip_for(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the header named by ``CLIENT_IP_HEADER``.

    With a header configured (e.g. ``X-Forwarded-For`` behind a proxy we run), its LAST
    address is used: the one our proxy appended, which the client cannot forge. A request
    without a usable header counts against the proxy's own address, which is the stricter
    choice.
    """
    header = settings.CLIENT_IP_HEADER
    if header:
        value = request.META.get(header) or request.headers.get(header) or ""
        candidate = value.split(",")[-1].strip()
        if _is_ip(candidate):
            return candidate
    return request.META.get("REMOTE_ADDR", "")


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def ip_limit_key(address: str) -> str:
    """What the per-address send limit counts: an IPv4 address, or an IPv6 /64.

    One IPv6 subscriber usually holds a whole /64, so counting single addresses would let
    them rotate past the limit.
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if parsed.version == 6:
        return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False))
    return str(parsed)
