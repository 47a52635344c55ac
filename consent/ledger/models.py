"""The ledger's tables: purposes, policy versions and texts, consent records, minors."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# --- the consent ledger -----------------------------------------------------------------------

LANGUAGE_CHOICES = [("en", "English"), ("zh-hans", "简体中文")]


class Purpose(models.Model):
    """One purpose a subject can consent to, with its retention rule stored as data.

    ``current_version`` is kept here so that the gate reads it in the same query as the
    subject's latest record (``consent.ledger.gate``). Only ``policy_publish`` changes it.
    """

    class RetentionRule(models.TextChoices):
        # Kept until withdrawn, or ``retention_days`` after the data was last used.
        AFTER_LAST_USE = "after_last_use", _("until withdrawn or after last use")
        # Each item kept ``retention_days`` after it was made.
        AFTER_CREATION = "after_creation", _("after it was made")
        # Each result kept ``retention_days`` unless output storage is granted.
        UNLESS_STORED = "unless_stored", _("unless output storage is granted")

    code = models.CharField(max_length=32, unique=True, editable=False)
    position = models.PositiveSmallIntegerField(default=0, editable=False)
    # Special-category data (GDPR Art. 9, PIPL Art. 28): receipts say sensitive + spiCat.
    sensitive = models.BooleanField(default=False, editable=False)
    # A purpose that is useless without another one (the ledger still lets each be granted
    # alone: no bundling). Shown to people as a note, never enforced.
    works_with = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    retention_days = models.PositiveIntegerField(editable=False)
    retention_rule = models.CharField(max_length=16, choices=RetentionRule.choices, editable=False)
    current_version = models.ForeignKey(
        "PolicyVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("purpose")

    def __str__(self) -> str:
        return self.code


class PolicyVersion(models.Model):
    """A published version of a purpose's text. Immutable: the database refuses UPDATE (and,
    on PostgreSQL, DELETE) of published versions and their texts (migration 0004)."""

    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["purpose__position", "-version"]
        verbose_name = _("published policy")
        verbose_name_plural = _("published policies")
        constraints = [
            models.UniqueConstraint(fields=["purpose", "version"], name="consent_policy_version")
        ]

    def __str__(self) -> str:
        return f"{self.purpose.code} v{self.version}"


class PolicyText(models.Model):
    """The exact text of one policy version in one language; ``sha256`` is over its UTF-8."""

    policy = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="texts")
    language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES)
    text = models.TextField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("policy text")
        constraints = [
            models.UniqueConstraint(fields=["policy", "language"], name="consent_policy_language")
        ]

    def __str__(self) -> str:
        return f"{self.policy} ({self.language})"

    @property
    def title(self) -> str:
        """A policy text's first line is its title."""
        return self.text.split("\n", 1)[0].strip()


class GuardianRelationship(models.TextChoices):
    """Who may consent for a child under 14 (PIPL Art. 31): a fixed choice, stated by them."""

    PARENT = "parent", _("parent")
    LEGAL_GUARDIAN = "legal_guardian", _("legal guardian")
    PARENTAL_RESPONSIBILITY = (
        "parental_responsibility",
        _("other person with parental responsibility"),
    )


class ConsentRecord(models.Model):
    """One grant or withdrawal, append-only (the database refuses UPDATE; erasure deletes).

    A subject's state per purpose is their latest record (see ``consent.ledger.selectors``). The
    evidence is what proves the act without identifying more than needed: the SHA-256 of the
    text shown, its language, a SHA-256 of the user agent and the client address truncated
    to its network (/24 for IPv4, /48 for IPv6). The signed receipt is stored as issued.
    """

    class Action(models.TextChoices):
        GRANT = "grant", _("granted")
        WITHDRAW = "withdraw", _("withdrawn")

    class Method(models.TextChoices):
        PORTAL = "portal", _("consent centre")
        API = "api", _("app (API)")

    class Reason(models.TextChoices):
        SUBJECT = "", _("at the subject's request")
        MINOR_DECLARED = "minor_declared", _("the subject declared an age under 14")

    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consent_records"
    )
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="+")
    # Grant: the version granted. Withdrawal: the version of the grant it ends.
    policy = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=8, choices=Action.choices)
    created_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=8, choices=Method.choices)
    reason = models.CharField(max_length=16, choices=Reason.choices, blank=True, default="")
    language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES)
    text_sha256 = models.CharField(max_length=64)
    user_agent_sha256 = models.CharField(max_length=64, blank=True)
    ip_network = models.CharField(max_length=64, blank=True)
    # A parent or guardian who granted on a child's behalf (PIPL Art. 31): a keyed digest of
    # their number (``consent.ledger.services.guardian_pseudonym``), never the number, and the
    # relationship they stated. They need no account of their own.
    guardian_pseudonym = models.CharField(max_length=32, blank=True)
    guardian_relationship = models.CharField(
        max_length=24, choices=GuardianRelationship.choices, blank=True, default=""
    )
    receipt_id = models.UUIDField(unique=True)
    receipt = models.TextField(help_text="The signed receipt, JSON, exactly as issued.")
    # The same event as an ISO/IEC TS 27560 consent record (``receipts.record_27560_body``),
    # signed, exactly as issued. Null only for records written before it existed (a nullable
    # column is added in place: the table's append-only triggers stay).
    record_27560 = models.TextField(null=True, blank=True, editable=False)  # noqa: DJ001

    class Meta:
        verbose_name = _("consent record")
        indexes = [
            models.Index(fields=["subject", "purpose", "id"], name="consent_record_latest"),
        ]

    def __str__(self) -> str:
        return f"consent record {self.pk}"


class MinorDeclaration(models.Model):
    """A subject who may be under 14: the day they said so and, when they gave it at the age
    step, their year of birth — never a birth date. The year is kept only for children, so
    that their status ends by itself once they are certainly 14 (``minor_declared_on``);
    without it (the correction button) the status lasts until erasure. Invariant
    "minimum-data", docs/ARCHITECTURE.md."""

    subject = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="minor_declaration"
    )
    declared_on = models.DateField()
    birth_year = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("declaration of an age under 14")
        verbose_name_plural = _("declarations of an age under 14")

    def __str__(self) -> str:
        return f"minor declaration {self.pk}"


class AgeStatement(models.Model):
    """A subject who gave a year of birth making them 14 or over: only that fact and the day,
    never the year (invariant "minimum-data", docs/ARCHITECTURE.md). Asked once, before the
    first grant; a child gets a ``MinorDeclaration`` instead."""

    subject = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="age_statement"
    )
    stated_on = models.DateField()

    class Meta:
        verbose_name = _("statement of an age of 14 or over")
        verbose_name_plural = _("statements of an age of 14 or over")

    def __str__(self) -> str:
        return f"age statement {self.pk}"


# --- impact assessments -------------------------------------------------------------------------


class ImpactAssessment(models.Model):
    """A personal-information protection impact assessment (PIPL Arts. 55–56) / DPIA (GDPR
    Art. 35) of one purpose, recorded and signed by the DPO. Published as it is recorded and
    never changed: the database refuses UPDATE (and, on PostgreSQL, DELETE) (migration
    ``0016_impact_assessments``). A later version supersedes it; superseded versions are kept
    for the life of the service, which is more than the three years PIPL Art. 56 asks.
    ``sha256`` is over the RFC 8785 canonical JSON of its content (``assessment_content``)."""

    class Risk(models.TextChoices):
        LOW = "low", _("low")
        MEDIUM = "medium", _("medium")
        HIGH = "high", _("high")

    class Decision(models.TextChoices):
        PROCEED = "proceed", _("proceed")
        CONDITIONS = "conditions", _("proceed with the conditions stated")
        STOP = "stop", _("do not proceed")

    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="assessments")
    version = models.PositiveIntegerField()
    scope = models.TextField(help_text=_("What is processed, about whom, how and where."))
    necessity = models.TextField(
        help_text=_("Why the processing is lawful, legitimate and necessary, and proportionate.")
    )
    risks = models.TextField(help_text=_("Risks to people's rights and interests."))
    measures = models.TextField(help_text=_("Measures that address each risk."))
    residual_risk = models.CharField(max_length=8, choices=Risk.choices)
    decision = models.CharField(max_length=12, choices=Decision.choices)
    review_on = models.DateField(help_text=_("Assessed again by this date at the latest."))
    signer = models.CharField(max_length=200, help_text=_("Name and role of who signs it."))
    published_at = models.DateTimeField(default=timezone.now)
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["purpose__position", "-version"]
        verbose_name = _("impact assessment")
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "version"], name="consent_assessment_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose.code} assessment v{self.version}"
