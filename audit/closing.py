"""Closing mode: once ``wind_down`` has started (an ``audit.models.WindDown`` row exists), no
new account, capture or swap is accepted and every page carries a banner; people may still sign
in, download their data and erase their account until the grace period ends (README "Closing
the service"). Lives in the lowest app so that sign-up (consent.identity), captures
(biometrics) and swaps (swap) can all ask it."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _

from audit.models import WindDown
from compliance_site.dates import date_text
from compliance_site.errors import Forbidden


class ServiceClosing(Forbidden):
    code = "service_closing"


def wind_down_state() -> WindDown | None:
    return WindDown.objects.filter(pk=1).first()


def check_service_open() -> None:
    """403 ``service_closing`` once the service is winding down."""
    state = wind_down_state()
    if state is not None:
        raise ServiceClosing(
            _(
                "This service is closing: it accepts no new accounts, captures or swaps. You "
                "may download your data until %(date)s."
            )
            % {"date": date_text(state.grace_ends_at)}
        )


def context(request: HttpRequest) -> dict:
    """Template context for the banner on every page (``templates/base.html``)."""
    return {"wind_down": wind_down_state()}
