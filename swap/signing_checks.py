"""The C2PA start-up checks, swap's own: with credentials set, every output is signed or the
service does not start (never a silently unsigned output); without them, the reason must be
stated publicly (``C2PA_DISABLED_REASON``, shown on /transparency/).

``check_c2pa`` is a deploy system check (faceledger.E002, E003). Production settings also set
``C2PA_SELF_TEST_AT_START``: ``SwapConfig.ready()`` then signs a probe before anything is
served and raises ``ImproperlyConfigured`` if that fails (``require_c2pa_signing``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured

from swap.engines.content_credentials import C2paCredentials, C2paSetupError, c2pa_self_test

FAILS = "C2PA signing is configured but fails"


def _self_test() -> None:
    chain, key = settings.SWAP_C2PA_CERT_CHAIN, settings.SWAP_C2PA_PRIVATE_KEY
    c2pa_self_test(C2paCredentials(chain.encode(), key.encode(), settings.SWAP_C2PA_ALGORITHM))


def require_c2pa_signing() -> None:
    """At start-up in production: a configured signer that cannot sign stops the service."""
    if not settings.C2PA_SELF_TEST_AT_START or not settings.SWAP_C2PA_CERT_CHAIN:
        return
    try:
        _self_test()
    except (C2paSetupError, ValueError) as exc:
        raise ImproperlyConfigured(f"{FAILS}: {exc}") from exc


def check_c2pa(app_configs, **kwargs) -> list[Error]:
    if not settings.SWAP_C2PA_CERT_CHAIN:
        if settings.C2PA_DISABLED_REASON:
            return []
        return [
            Error(
                "Swap outputs are not signed with C2PA and C2PA_DISABLED_REASON says nothing.",
                hint="Set SWAP_C2PA_CERT_CHAIN and SWAP_C2PA_PRIVATE_KEY, or state the reason "
                "in C2PA_DISABLED_REASON (shown on /transparency/).",
                id="faceledger.E002",
            )
        ]
    try:
        _self_test()
    except (C2paSetupError, ValueError) as exc:
        return [
            Error(
                f"{FAILS}: {exc}",
                hint="Install c2pa-python with its native library, and check the chain and key.",
                id="faceledger.E003",
            )
        ]
    return []
