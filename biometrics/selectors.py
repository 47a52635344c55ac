"""Reads with logic: a subject's captures, their retention, and the inventory's views of the
biometric stores (references and exports only, never biometric bytes)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from biometrics import vault
from biometrics.analysis.liveness import challenge_seconds
from biometrics.models import Capture, LivenessChallenge, SubjectKey
from compliance_site import inventory
from compliance_site.errors import NotFound
from consent.ledger.models import Purpose
from consent.ledger.selectors import PreviewLine, preview_line, purpose_by_code

PURPOSE = "biometric_enrolment"

STEP_LABELS = {
    "turn_left": gettext_lazy("Turn your head to your left, then back to the camera"),
    "turn_right": gettext_lazy("Turn your head to your right, then back to the camera"),
    "look_up": gettext_lazy("Look up, then back to the camera"),
    "look_down": gettext_lazy("Look down, then back to the camera"),
    "tilt_left": gettext_lazy("Tilt your head toward your left shoulder, then back"),
    "tilt_right": gettext_lazy("Tilt your head toward your right shoulder, then back"),
    "open_mouth": gettext_lazy("Open your mouth wide, then close it"),
    "smile": gettext_lazy("Smile broadly, then relax"),
    "blink": gettext_lazy("Blink"),
}


def challenge_page_context(challenge: LivenessChallenge) -> dict[str, Any]:
    """What a page with the camera needs to show a challenge's prompts and record it
    (``templates/biometrics/_camera.html``, ``static/biometrics/capture.js``)."""
    return {
        "challenge": challenge,
        "steps": [(step["step"], STEP_LABELS[step["step"]]) for step in challenge.steps],
        "windows": [{**step, "label": STEP_LABELS[step["step"]]} for step in challenge.steps],
        "steps_json": json.dumps(challenge.steps),
        "record_seconds": challenge_record_seconds(challenge),
        "step_labels": STEP_LABELS,
    }


def challenge_record_seconds(challenge: LivenessChallenge) -> float:
    """How long to record: until the last window closes, plus a little."""
    return challenge_seconds(challenge.steps)


def capture_for(*, subject: Any, capture_id: Any, lock: bool = False) -> Capture:
    """The subject's own capture; anyone else's, or none, is the same "not found"."""
    try:
        key = uuid.UUID(str(capture_id))
    except ValueError:
        key = None
    captures = (
        Capture.objects.filter(pk=key, subject_id=subject.pk) if key else Capture.objects.none()
    )
    if lock:
        captures = captures.select_for_update()
    capture = captures.first()
    if capture is None:
        raise NotFound(_("There is no such capture."), code="capture_not_found")
    return capture


@dataclass(frozen=True)
class CaptureDeletePreview:
    """What deleting one capture erases besides it: copies elsewhere (stored reports showing
    its thumbnail), in plain words."""

    capture: Capture
    copies: list[PreviewLine]


def capture_delete_preview(*, subject: Any, capture_id: Any) -> CaptureDeletePreview:
    """Read-only twin of ``capture_delete``: the subject's capture (``capture_not_found``
    otherwise) and the copies its deletion erases (``inventory.copies_held``)."""
    capture = capture_for(subject=subject, capture_id=capture_id)
    copies = inventory.copies_held("biometrics.captures", subject.pk)
    return CaptureDeletePreview(capture, [preview_line(store, n) for store, n in copies])


def captures_of(subject: Any) -> list[Capture]:
    return list(Capture.objects.filter(subject_id=subject.pk).order_by("-created_at"))


def capture_retention() -> Purpose:
    """The purpose whose retention rule (stored as data in the ledger) captures follow."""
    return purpose_by_code(PURPOSE)


def _retention_field(purpose: Purpose) -> str:
    if purpose.retention_rule == Purpose.RetentionRule.AFTER_LAST_USE:
        return "last_used_at"
    return "created_at"


def capture_expires_at(capture: Capture, purpose: Purpose) -> datetime:
    start = getattr(capture, _retention_field(purpose))
    return start + timedelta(days=purpose.retention_days)


def captures_expired(*, now: datetime, purpose: Purpose, limit: int) -> list[Capture]:
    cutoff = now - timedelta(days=purpose.retention_days)
    field = _retention_field(purpose)
    expired = Capture.objects.select_for_update().filter(**{f"{field}__lt": cutoff})
    return list(expired.order_by(field)[:limit])


# --- the inventory's views ----------------------------------------------------------------------


def captures_locate(subject_id: int) -> list[str]:
    found = []
    for pk, photo in Capture.objects.filter(subject_id=subject_id).values_list("pk", "photo"):
        found.append(f"capture:{pk}")
        if vault.blob_exists(photo):
            found.append(f"file:{photo}")
    return found


def captures_export(subject_id: int) -> list[dict]:
    purpose = capture_retention()
    return [
        {
            "id": str(capture.pk),
            "created_at": capture.created_at.isoformat(),
            "last_used_at": capture.last_used_at.isoformat(),
            "retention_expires_at": capture_expires_at(capture, purpose).isoformat(),
            "engine": capture.engine,
            "liveness": capture.liveness,
        }
        for capture in Capture.objects.filter(subject_id=subject_id).order_by("created_at")
    ]


def challenges_locate(subject_id: int) -> list[str]:
    ids = LivenessChallenge.objects.filter(subject_id=subject_id).values_list("pk", flat=True)
    return [f"liveness_challenge:{pk}" for pk in ids]


def challenges_export(subject_id: int) -> list[dict]:
    return [
        {
            "steps": challenge.steps,
            "created_at": challenge.created_at.isoformat(),
            "expires_at": challenge.expires_at.isoformat(),
        }
        for challenge in LivenessChallenge.objects.filter(subject_id=subject_id)
    ]


def subject_key_locate(subject_id: int) -> list[str]:
    exists = SubjectKey.objects.filter(subject_id=subject_id).exists()
    return [f"subject_key:{subject_id}"] if exists else []


def subject_key_export(subject_id: int) -> dict | None:
    """That a key exists, under which master key, since when: never the key."""
    row = SubjectKey.objects.filter(subject_id=subject_id).first()
    if row is None:
        return None
    return {"master_key_id": row.key_id, "created_at": row.created_at.isoformat()}
