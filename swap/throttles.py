"""The limit on attempts at the depicted person's public withdrawal, per client network.

The project's per-address rate limiting (DRF's cache-backed counters, keyed by the address the
sign-in limits count: ``compliance_site.client_address``), with a rate of its own: every
attempt counts, right or wrong, signed in or not. A refusal is audited without the address.
The public "was this made here?" check has a limit of its own, audited the same way."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.throttling import SimpleRateThrottle

from compliance_site.client_address import client_ip_for, ip_limit_key
from compliance_site.errors import RateLimited
from swap.services import depicted_withdrawal_refused, share_link_refused, swap_mark_check_refused

# Attempts per client network (an IPv4 address or an IPv6 /64). The secret has 140 bits, so
# this guards the service more than the secret; the person needs one attempt.
WITHDRAWAL_RATE = "10/hour"


class DepictedWithdrawalThrottle(SimpleRateThrottle):
    scope = "depicted_withdrawal"

    def get_rate(self) -> str:
        return WITHDRAWAL_RATE

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {
            "scope": self.scope,
            "ident": ip_limit_key(client_ip_for(request)),
        }


def withdrawal_attempt_check(request) -> None:
    """Count one attempt from the request's network; ``RateLimited`` (429, audited) past the
    rate. Called by the public page and the API before the secret is looked at."""
    throttle = DepictedWithdrawalThrottle()
    # (arg-type: the throttle never reads the view; the portal page has none.)
    if throttle.allow_request(request, None):  # type: ignore[arg-type]
        return
    wait = int(throttle.wait() or 1)
    depicted_withdrawal_refused(reason="rate_limited")
    raise RateLimited(_("Too many attempts from your network. Try again later."), retry_after=wait)


# Checks of "was this made here?" per client network: enough for a newsroom, too few to probe
# the mark's detector at scale.
MARK_CHECK_RATE = "30/hour"


class MarkCheckThrottle(DepictedWithdrawalThrottle):
    scope = "mark_check"

    def get_rate(self) -> str:
        return MARK_CHECK_RATE


def mark_check_attempt_check(request) -> None:
    """Count one check from the request's network; ``RateLimited`` (429, audited without the
    address) past the rate."""
    throttle = MarkCheckThrottle()
    if throttle.allow_request(request, None):  # type: ignore[arg-type]
        return
    wait = int(throttle.wait() or 1)
    # mutant: delete — tests/swap/test_mark_check.py
    #   test_a_check_refused_past_the_limit_is_audited_without_the_address
    swap_mark_check_refused(reason="rate_limited")
    raise RateLimited(_("Too many checks from your network. Try again later."), retry_after=wait)


# Views of share links per client network: enough for a family group, too few to try tokens
# (256 bits) or to serve a result to a crowd.
SHARE_VIEW_RATE = "60/hour"


class ShareViewThrottle(DepictedWithdrawalThrottle):
    scope = "share_view"

    def get_rate(self) -> str:
        return SHARE_VIEW_RATE


def share_view_attempt_check(request) -> None:
    """Count one view from the request's network; ``RateLimited`` (429, audited without the
    address) past the rate. Called by the viewer page and the API before the token is read."""
    throttle = ShareViewThrottle()
    if throttle.allow_request(request, None):  # type: ignore[arg-type]
        return
    wait = int(throttle.wait() or 1)
    share_link_refused(reason="rate_limited")
    raise RateLimited(_("Too many views from your network. Try again later."), retry_after=wait)
