"""The swap steps of the person's path (``compliance_site.progress``): consent to face
swaps, then a first swap."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from compliance_site import progress
from consent.ledger.gate import GRANTED, consent_state
from consent.ledger.selectors import consent_centre_url
from swap.models import SwapJob
from swap.selectors import PURPOSE


def face_swap_consent_step(subject: Any) -> progress.Step:
    granted = consent_state(subject=subject, purpose=PURPOSE) == GRANTED
    return progress.Step(
        name="face_swap_consent",
        title=_("Consent to face swaps"),
        status=_("Given") if granted else _("Not yet"),
        done=granted,
        action=_("Read and consent to face swaps"),
        url=consent_centre_url(PURPOSE, back=reverse("swap:swaps")),
    )


def swap_step(subject: Any) -> progress.Step:
    count = SwapJob.objects.filter(subject_id=subject.pk).count()
    return progress.Step(
        name="swap",
        title=_("Make a swap"),
        status=ngettext("%(count)d swap", "%(count)d swaps", count) % {"count": count}
        if count
        else _("Not yet"),
        done=bool(count),
        action=_("Make your first swap"),
        url=reverse("swap:swaps"),
        done_action=_("See your swaps"),
    )


def register() -> None:
    progress.register("face_swap_consent", 20, face_swap_consent_step)
    progress.register("swap", 30, swap_step)
