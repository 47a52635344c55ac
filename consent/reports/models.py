"""Report jobs (their table is the app's: ``consent_reportjob``)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent.ledger.models import LANGUAGE_CHOICES

# --- the user-data report (access requests answered in the background) -------------------------


class ReportJob(models.Model):
    """A user-data report made by a worker because the subject's history is long
    (``consent.reports``). The PDF is stored only as ciphertext under the subject's data key
    (``file``) and erased ``REPORT_TTL`` seconds after it is made, by the retention sweep."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        RUNNING = "running", _("being made")
        DONE = "done", _("ready")
        FAILED = "failed", _("failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # PROTECT: the account row cannot go while a report (and its file) remains; erasure walks
    # the inventory, which erases reports first.
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES, editable=False)
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING, editable=False
    )
    progress = models.PositiveSmallIntegerField(default=0, editable=False)
    requested_at = models.DateTimeField(default=timezone.now, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set at request time too, so a job that never finishes is swept all the same.
    expires_at = models.DateTimeField(db_index=True, editable=False)
    # Storage name of the encrypted PDF ("" until done).
    file = models.CharField(max_length=200, blank=True, editable=False)
    size = models.PositiveIntegerField(default=0, editable=False)
    events = models.PositiveIntegerField(default=0, editable=False)
    error = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("data report")
        indexes = [models.Index(fields=["subject", "status"], name="consent_report_subject")]

    def __str__(self) -> str:
        return f"data report {self.pk}"
