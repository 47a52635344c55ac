"""Swap templates with their licence and depicted-person consent records, and swap jobs.

A template is not subject data: it belongs to the person it depicts, whose consent to face
editing is recorded next to the licence that lets us use the file. Both are append-only records
(a renewal is a new row); the template points at the current one of each, as ``Purpose`` points
at its current policy version, so "usable" is one indexed query (``swap.selectors``).

A job's result is subject data: stored only as ciphertext under the subject's data key, in a
file named by ``result``. The job row itself names the subject, the capture used and the
template, never a face.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent.ledger.models import LANGUAGE_CHOICES

TEMPLATE_FOLDER = "swap_templates"


class TemplateKind(models.TextChoices):
    IMAGE = "image", _("image")
    VIDEO = "video", _("video clip")


class SwapTemplate(models.Model):
    """An image or a clip (at most 30 s) a subject's face can be swapped into."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(_("title"), max_length=120)
    kind = models.CharField(max_length=8, choices=TemplateKind.choices, editable=False)
    # Stored as uploaded (it is the depicted person's picture, not subject data).
    file = models.FileField(upload_to=TEMPLATE_FOLDER, max_length=200, editable=False)
    # A small JPEG still for choosing the template (the first frame with a face, for a clip).
    poster = models.FileField(upload_to=TEMPLATE_FOLDER, max_length=200, editable=False)
    sha256 = models.CharField(max_length=64, editable=False)
    size_bytes = models.PositiveBigIntegerField(editable=False)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    duration_seconds = models.FloatField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The records in force; older ones stay as evidence. Set only by the services.
    licence = models.ForeignKey(
        "TemplateLicence",
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    depicted_consent = models.ForeignKey(
        "DepictedPersonConsent",
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("swap template")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class TemplateLicence(models.Model):
    """The licence under which we use a template file: where it came from, on what terms,
    until when (no expiry: e.g. a public-domain work)."""

    template = models.ForeignKey(SwapTemplate, on_delete=models.PROTECT, related_name="licences")
    source = models.CharField(_("source"), max_length=300)
    terms = models.TextField(_("terms"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("template licence")
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"licence {self.pk} of {self.template_id}"


class DepictedPersonConsent(models.Model):
    """The depicted person's consent to having their face edited in a template: who (a name
    or a reference to the signed form), the signed document, what it allows, until when."""

    template = models.ForeignKey(SwapTemplate, on_delete=models.PROTECT, related_name="consents")
    person = models.CharField(_("depicted person (name or reference)"), max_length=200)
    document = models.FileField(
        _("signed document"), upload_to=f"{TEMPLATE_FOLDER}/consents", max_length=200
    )
    scope = models.TextField(_("scope"))
    # Whether results made with the template may be shared by link beyond the user who made
    # them. Nullable so the column is added in place (the table keeps its triggers); empty
    # (records made before it existed) counts as no, like False.
    sharing_allowed = models.BooleanField(
        _("results may be shared by link"), null=True, blank=True, editable=False
    )
    expires_at = models.DateTimeField(_("expires"))
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    withdrawn_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A keyed digest of the withdrawal secret handed to the depicted person (empty for records
    # made before secrets existed); the secret itself is never stored.
    withdrawal_digest = models.CharField(max_length=64, blank=True, editable=False, db_index=True)

    # Set only on the instance the recording service returns, for the one page that shows it
    # to the DPO; never saved.
    withdrawal_secret: str = ""

    class Meta:
        verbose_name = _("depicted person's consent")
        verbose_name_plural = _("depicted persons' consents")
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"consent {self.pk} for {self.template_id}"


class DepictedWithdrawalRequest(models.Model):
    """A depicted person's withdrawal that reached staff (a letter, an email, a call) rather
    than the public page: when it arrived, how, and when it was carried out. It is due one month
    after it arrived (``compliance_site.deadlines``). It names the template, not the person:
    their name stays on the consent record."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("email")
        POST = "post", _("post")
        PHONE = "phone", _("phone")
        IN_PERSON = "in_person", _("in person")

    template = models.ForeignKey(
        SwapTemplate,
        on_delete=models.PROTECT,
        related_name="withdrawal_requests",
        verbose_name=_("template"),
    )
    requested_at = models.DateTimeField(_("received"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    note = models.CharField(
        _("note"),
        max_length=300,
        blank=True,
        help_text=_(
            "Where the request is filed (a reference, not the person's address or number)."
        ),
    )
    logged_at = models.DateTimeField(_("logged"), default=timezone.now, editable=False)
    completed_at = models.DateTimeField(_("carried out"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("depicted person's withdrawal request")
        verbose_name_plural = _("depicted persons' withdrawal requests")

    def __str__(self) -> str:
        return f"withdrawal request {self.pk} for {self.template_id}"


class SwapJob(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    ACTIVE = (Status.PENDING, Status.RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Deleting the capture (or withdrawing biometric_enrolment) leaves the job without one: a
    # job not yet done then stops, and a result already made stays the subject's to keep.
    capture = models.ForeignKey(
        "biometrics.Capture", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    template = models.ForeignKey(SwapTemplate, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=TemplateKind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set by each claim: a worker whose claim was taken over (stale, re-queued) stops.
    claim = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Storage name of the encrypted result; empty until done.
    result = models.CharField(max_length=200, blank=True)
    result_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    result_c2pa = models.BooleanField(default=False)
    # Kept under output_storage (30 days) rather than face_swap (24 hours).
    stored = models.BooleanField(default=False)
    # Made under ephemeral_swap from a photo and a video checked in memory, never from a
    # stored capture (``capture`` is empty): only the labelled result is kept.
    ephemeral = models.BooleanField(default=False, editable=False)
    # The language of the page (or API request) the swap was asked from: the visible mark is
    # drawn in it as well as in English (``swap.engines.label.label_text``).
    language = models.CharField(
        max_length=8, choices=LANGUAGE_CHOICES, default="en", editable=False
    )
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("swap job")
        indexes = [
            models.Index(fields=["subject", "created_at"], name="swap_job_subject"),
            models.Index(fields=["status", "heartbeat_at"], name="swap_job_status"),
            models.Index(fields=["expires_at"], name="swap_job_expires"),
        ]

    def __str__(self) -> str:
        return f"swap job {self.pk}"

    @property
    def media_type(self) -> str:
        return "image/png" if self.kind == TemplateKind.IMAGE else "video/mp4"


class SwapNotice(models.Model):
    """A message in a subject's account saying why one of their results is gone, when it went
    for a reason other than their own action (the depicted person's withdrawal). It names the
    template and the dates, nothing about the depicted person."""

    class Reason(models.TextChoices):
        DEPICTED_CONSENT_WITHDRAWN = (
            "depicted_consent_withdrawn",
            _("the person in the template withdrew their consent"),
        )

    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    template = models.ForeignKey(SwapTemplate, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=40, choices=Reason.choices)
    # When the erased swap was asked for, so its owner can tell which one it was.
    swap_requested_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("swap notice")
        indexes = [
            models.Index(fields=["subject", "created_at"], name="swap_notice_subject"),
            models.Index(fields=["expires_at"], name="swap_notice_expires"),
        ]

    def __str__(self) -> str:
        return f"swap notice {self.pk}"


class ShareLink(models.Model):
    """A link by which anyone holding its token sees one result, without an account, until it
    expires, reaches its view limit, is revoked or dies with the result (every erasure of the
    result deletes its links: the foreign key cascades). The token itself is never stored:
    only its keyed digest (``swap.selectors.share_token_digest``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(SwapJob, on_delete=models.CASCADE, related_name="+", editable=False)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(editable=False)
    max_views = models.PositiveIntegerField(null=True, blank=True, editable=False)
    views = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("share link")
        indexes = [
            models.Index(fields=["subject", "created_at"], name="swap_share_subject"),
            models.Index(fields=["expires_at"], name="swap_share_expires"),
        ]

    def __str__(self) -> str:
        return f"share link {self.pk}"
