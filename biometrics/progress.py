"""The enrolment step of the person's path (``compliance_site.progress``)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from biometrics.models import Capture
from biometrics.selectors import PURPOSE
from compliance_site import progress
from consent.ledger.gate import GRANTED, consent_state
from consent.ledger.selectors import consent_centre_url


def enrol_step(subject: Any) -> progress.Step:
    count = Capture.objects.filter(subject_id=subject.pk).count()
    capture_url = reverse("biometrics:capture")
    granted = consent_state(subject=subject, purpose=PURPOSE) == GRANTED
    return progress.Step(
        name="enrol",
        title=_("Enrol your face"),
        status=ngettext("%(count)d capture", "%(count)d captures", count) % {"count": count}
        if count
        else _("Not yet"),
        done=bool(count),
        action=_("Enrol your face") if granted else _("Consent to enrolment, then enrol"),
        url=capture_url if granted else consent_centre_url(PURPOSE, back=capture_url),
    )


def register() -> None:
    progress.register("enrol", 10, enrol_step)
