"""Helpers for the template, job and portal tests: template files made once per session from
the faces scikit-image ships, templates stored through the real service, a subject ready to
swap, the API calls, and a spy that counts calls to the real engine."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

import cv2
import numpy as np
from django.utils import timezone

from compliance_site.crypto import decrypt_any
from consent.ledger.models import ConsentRecord
from consent.ledger.selectors import ClientEvidence
from consent.ledger.services import consent_withdraw
from swap.engines import get_engine
from swap.engines.label import label_box
from swap.selectors import result_aad
from swap.services import (
    DepictedConsentTerms,
    LicenceTerms,
    check_template_file,
    swap_template_add,
)
from tests.biometrics import synth
from tests.swap.conftest import encode_clip

TEMPLATES_URL = "/api/v1/templates"
SWAPS_URL = "/api/v1/swaps"
OTHER_PERSON = 3  # an LFW face dlib finds (tests/swap/conftest.py)
CLIP_FPS = 10
CLIP_FRAMES = 12
# Enough of a PDF for the check (its magic bytes); the service stores it as it is.
SIGNED_PDF = b"%PDF-1.4\n% signed consent to face editing (test)\n%%EOF\n"


@functools.cache
def template_png() -> bytes:
    ok, png = cv2.imencode(".png", synth.other_person_bgr(OTHER_PERSON))
    assert ok
    return png.tobytes()


@functools.cache
def clip_frames() -> tuple[np.ndarray, ...]:
    """1.2 s of another person turning their head, 320x240 at 10 fps."""
    frames = synth.challenge_frames(
        synth.other_person_bgr(OTHER_PERSON),
        ["turn_left"],
        fps=CLIP_FPS,
        seconds=CLIP_FRAMES / CLIP_FPS,
        size=(320, 240),
    )
    return tuple(frames[:CLIP_FRAMES])


@functools.cache
def template_clip() -> bytes:
    """The clip as H.264 MP4 with a 440 Hz AAC tone (a template with sound)."""
    return encode_clip(list(clip_frames()), fps=CLIP_FPS, audio_hz=440.0)


def licence(*, expires_at: datetime | None = None) -> LicenceTerms:
    return LicenceTerms(
        source="Test photo library, picture 42",
        terms="May be edited and shown to users of the service.",
        expires_at=expires_at,
    )


def depicted_consent(
    *, expires_at: datetime | None = None, sharing: bool = False
) -> DepictedConsentTerms:
    """The depicted person's consent; ``sharing``: results may be shared by link."""
    return DepictedConsentTerms(
        person="Model release MR-2026-042",
        document=SIGNED_PDF,
        scope=(
            "Face editing by users of the service, shared by link by the user who made it."
            if sharing
            else "Face editing by users of the service, shown only to the user who made it."
        ),
        expires_at=expires_at or timezone.now() + timedelta(days=365),
        sharing_allowed=sharing,
    )


def make_template(
    kind: str = "image",
    *,
    title: str | None = None,
    licence_expires: datetime | None = None,
    consent_expires: datetime | None = None,
    sharing: bool = False,
    actor=None,
):
    """A template stored through the real service (file checked, records audited);
    ``sharing``: its depicted person allowed results to be shared by link."""
    data = template_png() if kind == "image" else template_clip()
    return swap_template_add(
        title=title or f"Test {kind}",
        media=check_template_file(data),
        licence=licence(expires_at=licence_expires),
        consent=depicted_consent(expires_at=consent_expires, sharing=sharing),
        actor=actor,
    )


def expire_depicted_consent(template) -> None:
    """The depicted person's consent ran out a moment ago (its row changed in place, as time
    passing would)."""
    from swap.models import DepictedPersonConsent

    past = timezone.now() - timedelta(seconds=1)
    DepictedPersonConsent.objects.filter(pk=template.depicted_consent_id).update(expires_at=past)


def request_swap(api, capture, template):
    return api.post(
        SWAPS_URL, {"capture": str(capture.pk), "template": str(template.pk)}, format="json"
    )


def withdraw(user, purpose: str) -> ConsentRecord:
    return consent_withdraw(
        subject=user, purpose=purpose, evidence=ClientEvidence(method=ConsentRecord.Method.API)
    )


def open_result(job, key: bytes) -> bytes:
    """The job's stored result file, decrypted with the subject's data key."""
    from django.core.files.storage import default_storage

    with default_storage.open(job.result, "rb") as fh:
        return decrypt_any(key, fh.read(), aad=result_aad(job.pk).encode())


def label_pixels(image: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = label_box(image.shape[1], image.shape[0])
    return image[y0:y1, x0:x1]


class EngineSpy:
    """Counts calls to the real engine's ``swap`` (and can act on the n-th call) by wrapping
    the method of the process-wide engine: the real engine still does the work."""

    def __init__(self, monkeypatch, *, on_call=None):
        self.engine = get_engine()
        self.real = self.engine.swap
        self.calls = 0
        self.on_call = on_call
        monkeypatch.setattr(self.engine, "swap", self)

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.on_call is not None:
            self.on_call(self.calls)
        return self.real(*args, **kwargs)
