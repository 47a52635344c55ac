"""System checks of the sign-in limits: one client network must not be able to reach a cap that
every network shares, or it could lock the owner out from anywhere (``manage.py check``)."""

from __future__ import annotations

import math

from django.conf import settings
from django.core.checks import Error


def one_network_sends_at_most() -> int:
    """The most codes one network can have sent to one number inside the all-networks window:
    its own limit once per (sliding) window of its own that fits in it."""
    windows = math.ceil(
        settings.OTP_SEND_WINDOW_PER_NUMBER_TOTAL / settings.OTP_SEND_WINDOW_PER_NUMBER
    )
    return settings.OTP_SEND_LIMIT_PER_NUMBER * windows


def check_sign_in_limits(app_configs, **kwargs) -> list[Error]:
    errors = []
    if settings.OTP_FAILURES_PER_NUMBER_NETWORK >= settings.OTP_FAILURES_PER_NUMBER:
        errors.append(
            Error(
                "OTP_FAILURES_PER_NUMBER_NETWORK is not below OTP_FAILURES_PER_NUMBER: one "
                "network's wrong codes can lock every network out of the number.",
                hint="Keep the per-network daily cap well below the number's.",
                id="consent.E001",
            )
        )
    if one_network_sends_at_most() >= settings.OTP_SEND_LIMIT_PER_NUMBER_TOTAL:
        errors.append(
            Error(
                f"One network can have {one_network_sends_at_most()} codes sent to a number "
                "inside OTP_SEND_WINDOW_PER_NUMBER_TOTAL, which reaches "
                "OTP_SEND_LIMIT_PER_NUMBER_TOTAL: it can leave the owner no code.",
                hint="Raise OTP_SEND_LIMIT_PER_NUMBER_TOTAL or lower the per-network limit.",
                id="consent.E002",
            )
        )
    return errors
