"""Captures, liveness challenges and the per-subject key vault.

Nothing here holds a face in clear: the photo is a ciphertext file in storage, the embedding and
landmarks are ciphertext columns, all under the subject's data key (``SubjectKey``), which is
itself stored only wrapped by a master key. Destroying that one row makes every copy of the
subject's biometric data unreadable (invariant "crypto-shredding", docs/ARCHITECTURE.md).

The subject foreign keys PROTECT: the account row cannot be deleted while any of this remains,
so an erasure that skipped a biometric store fails loudly instead of leaving ciphertext behind.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SubjectKey(models.Model):
    """The subject's AES-256-GCM data key, wrapped by the master key ``key_id`` with the
    subject id as context (so a wrapped key copied onto another subject does not open)."""

    subject = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="+",
    )
    wrapped_key = models.BinaryField(editable=False)
    key_id = models.CharField(max_length=32, editable=False, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("subject key")

    def __str__(self) -> str:
        return f"subject key {self.pk}"


class LivenessChallenge(models.Model):
    """Four random timed actions the subject must perform on video; single use, short-lived.

    ``steps`` is ``[{"step", "start", "end"}, ...]``: each action must begin between ``start``
    and ``end`` seconds after the recording starts (``biometrics.analysis.liveness``).

    The random UUID is the challenge's only name: a client cannot guess another subject's, and
    using one deletes it (a failed attempt needs a new challenge).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    steps = models.JSONField(editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(db_index=True, editable=False)

    class Meta:
        verbose_name = _("liveness challenge")

    def __str__(self) -> str:
        return f"liveness challenge {self.pk}"


class Capture(models.Model):
    """One enrolment: the face photo, its embedding and landmarks (all ciphertext under the
    subject's key, each with an AAD naming what it is) and the liveness result (plain: it is
    what the API shows, and holds no image, embedding or landmark)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="captures"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Retention runs from here (biometric_enrolment: 365 days after last use).
    last_used_at = models.DateTimeField(db_index=True)
    # Storage name of the encrypted photo (JPEG re-encoded from the decoded pixels: no EXIF).
    photo = models.CharField(max_length=200, editable=False)
    embedding = models.BinaryField(editable=False)
    landmarks = models.BinaryField(editable=False)
    engine = models.CharField(max_length=32, editable=False)
    liveness = models.JSONField(editable=False)

    class Meta:
        verbose_name = _("capture")
        indexes = [
            models.Index(fields=["subject", "created_at"], name="biometrics_capture_subject")
        ]

    def __str__(self) -> str:
        return f"capture {self.pk}"
