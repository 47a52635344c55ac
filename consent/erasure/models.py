"""Erasure requests (their table is the app's: ``consent_erasurerequest``)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# --- erasure (the right to be forgotten) -------------------------------------------------------


class ErasureRequest(models.Model):
    """One account erasure, from the request to the signed certificate (``consent.erasure``).

    It outlives the account: the subject asks for its status with an unguessable token, of
    which only the SHA-256 is kept. ``subject_ref`` is the account id while the erasure runs (a
    plain integer, not a foreign key: the account row is one of the things erased) and is
    cleared in the same transaction that forgets the subject's pseudonym, so a finished
    request names nobody. ``progress`` records each store once erased, so a crashed run
    resumes where it stopped.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        RUNNING = "running", _("erasing")
        DONE = "done", _("done")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    subject_ref = models.BigIntegerField(null=True, blank=True, editable=False, db_index=True)
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING, editable=False
    )
    requested_at = models.DateTimeField(default=timezone.now, editable=False)
    # Refreshed by the running task after every store; a stale one is re-queued by the sweep.
    heartbeat_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    # The running task's claim token: a run whose request recovery gave to another stops.
    claim = models.UUIDField(null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    progress = models.JSONField(default=dict, editable=False)
    # The ERASURE_COMPLETED audit event, which the certificate cites by its leaf index.
    completed_event_id = models.BigIntegerField(null=True, blank=True, editable=False)
    certificate = models.TextField(blank=True, editable=False, help_text="Signed JSON, as issued.")

    class Meta:
        verbose_name = _("erasure request")

    def __str__(self) -> str:
        return f"erasure request {self.pk}"
