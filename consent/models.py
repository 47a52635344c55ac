from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _
from django_otp.models import DeviceManager, SideChannelDevice, ThrottlingMixin
from django_otp.util import random_number_token
from phonenumber_field.modelfields import PhoneNumberField


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, phone_number, password=None, **extra):
        user = self.model(phone_number=phone_number, **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, phone_number, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(phone_number, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with a phone number: data subjects and staff alike.

    The phone number is the only identity we hold (DESIGN invariant 10): no name, e-mail,
    username or ID document. Data subjects have no password; staff have one plus TOTP.
    """

    phone_number = PhoneNumberField(unique=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "phone_number"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "user"
        # Staff pages show numbers masked; this permission allows an audited reveal of one.
        permissions = [("reveal_phone_number", "Can reveal a person's full phone number")]

    def __str__(self) -> str:
        return f"user {self.pk}"

    def get_short_name(self) -> str:
        # The admin greets staff by this, not by the number (the username): screens are seen.
        return str(self)


# verify_is_allowed() reason once OTP_SMS_MAX_FAILURES wrong codes were entered for one code.
LOCKED_OUT = "LOCKED_OUT"
# The fields a new code or a verification attempt changes.
CODE_FIELDS = [
    "token",
    "binding",
    "valid_until",
    "throttling_failure_count",
    "throttling_failure_timestamp",
]


class SmsDeviceManager(DeviceManager):
    def devices_for_user(self, user, confirmed=None):
        # Not offered as a second factor anywhere (see SmsDevice.confirmed).
        return self.none()


class SmsDevice(ThrottlingMixin, SideChannelDevice):
    """The SMS one-time code for one phone number (django-otp's side-channel device).

    The account does not exist before the first successful verification, so the device is
    keyed by an HMAC of the number and ``user`` stays empty until then. Only an HMAC of the
    current code is stored (``token``), bound to this number, and next to it a keyed digest
    of what the code was sent for (``binding``: signing in, or one guardian grant): a code
    passes only where it is used for exactly that.

    The device is also the number's failure counter (back-off and lock-out), made at the first
    attempt for any number, known or not, so that the answers never tell them apart. Failures
    are forgotten ``OTP_SMS_CODE_VALIDITY`` seconds after the last one (by then any code they
    were aimed at has expired), and a new code forgets them at once. A device whose number
    never signed in is personal data with no purpose once its code expired and its failures
    are forgotten: ``identity_prune`` deletes it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sms_devices",
        help_text="Set at the first successful verification.",
    )
    phone_digest = models.CharField(max_length=64, unique=True, editable=False)
    # The SMS code is how a data subject signs in: a first factor. django-otp's middleware
    # counts only confirmed devices as a verified second factor, so an SMS device is never
    # confirmed: even a hand-made admin login POST naming it cannot open the admin (TOTP only).
    confirmed = models.BooleanField(default=False, editable=False)
    # HMAC-SHA256 hex of the code; SideChannelDevice's 16 characters would hold the code itself.
    # NULL = no usable code, as in SideChannelDevice.
    token = models.CharField(max_length=64, blank=True, null=True, editable=False)  # noqa: DJ001
    # Keyed digest of what the current code was sent for (consent.services.CodeUse).
    binding = models.CharField(max_length=64, blank=True, default="", editable=False)

    objects = SmsDeviceManager()

    class Meta:
        verbose_name = _("SMS device")

    def get_throttle_factor(self) -> int:
        return settings.OTP_SMS_THROTTLE_FACTOR

    @property
    def is_locked_out(self) -> bool:
        return self.throttling_failure_count >= settings.OTP_SMS_MAX_FAILURES

    def failures_forget_stale(self) -> None:
        """Forget failures older than a code's validity (in memory; saved with the attempt)."""
        last = self.throttling_failure_timestamp
        horizon = timedelta(seconds=settings.OTP_SMS_CODE_VALIDITY)
        if last is not None and timezone.now() - last >= horizon:
            self.throttle_reset(commit=False)

    def verify_is_allowed(self):
        self.failures_forget_stale()
        if self.is_locked_out:
            return False, {"reason": LOCKED_OUT, "failure_count": self.throttling_failure_count}
        return super().verify_is_allowed()

    def code_digest(self, code: str) -> str:
        message = f"{self.phone_digest}:{code}"
        return salted_hmac("faceledger.consent.sms-code", message, algorithm="sha256").hexdigest()

    def generate_token(self, length=6, valid_secs=None, commit=True, binding: str = "") -> str:
        """Make, store (as its HMAC) and return a new code, as SideChannelDevice does. Without
        a ``binding`` (django-otp's own callers) the code is bound to nothing: it never passes."""
        if valid_secs is None:
            valid_secs = settings.OTP_SMS_CODE_VALIDITY
        code = random_number_token(length)
        valid_until = timezone.now() + timedelta(seconds=valid_secs)
        self.store_token(code, valid_until, commit=commit, binding=binding)
        return code

    def store_token(self, code: str, valid_until, commit: bool = True, *, binding: str) -> None:
        """A new code replaces the old one (and its binding) and lifts the back-off and the
        lock-out."""
        self.token = self.code_digest(code)
        self.binding = binding
        self.valid_until = valid_until
        self.throttle_reset(commit=False)
        if commit:
            self.save(update_fields=CODE_FIELDS)

    def code_matches(self, code: str) -> bool:
        """Whether ``code`` is the current code, whatever it was sent for (constant time)."""
        return bool(self.token) and constant_time_compare(self.token, self.code_digest(str(code)))

    def verify_token(self, token, binding: str = "") -> bool:
        """Single use, expiring, throttled, and only for what the code was sent for (the
        ``binding`` digest); compared in constant time. A right code used for something else
        counts as a wrong code. django-otp's own forms (the admin's login) call this without a
        binding: no code is ever sent for them, so there it always fails."""
        allowed, _info = self.verify_is_allowed()
        if not allowed:
            return False
        now = timezone.now()
        bound = bool(binding) and constant_time_compare(self.binding, binding)
        if self.code_matches(token) and bound and now < self.valid_until:
            self.token = None
            self.binding = ""
            self.valid_until = now
            self.throttle_reset(commit=False)
            self.save(update_fields=CODE_FIELDS)
            return True
        self.throttle_increment(commit=False)
        self.save(update_fields=CODE_FIELDS)
        return False


class ApiToken(models.Model):
    """A bearer token for API clients. Only the SHA-256 of the key is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(db_index=True, editable=False)

    class Meta:
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"API token {self.pk}"


class SendWindow(models.Model):
    """Recent code sends for one number, client address or number prefix (sliding window).

    Keyed by an HMAC of the value, never the value. The row is locked while counting so
    that several processes cannot all pass the limit at once.
    """

    class Scope(models.TextChoices):
        NUMBER = "number"
        IP = "ip"
        PREFIX = "prefix"

    scope = models.CharField(max_length=8, choices=Scope.choices)
    key = models.CharField(max_length=64)
    # Send times (milliseconds since the epoch) still inside the window, oldest first.
    hits = models.JSONField(default=list)
    # When the newest hit leaves the window: after that the row says nothing and is pruned.
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="consent_sendwindow_scope_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope} send window {self.pk}"


# --- the consent ledger -----------------------------------------------------------------------

LANGUAGE_CHOICES = [("en", "English"), ("zh-hans", "简体中文")]


class Purpose(models.Model):
    """One purpose a subject can consent to, with its retention rule stored as data.

    ``current_version`` is kept here so that the gate reads it in the same query as the
    subject's latest record (``consent.gate``). Only ``policy_publish`` changes it.
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


class ConsentRecord(models.Model):
    """One grant or withdrawal, append-only (the database refuses UPDATE; erasure deletes).

    A subject's state per purpose is their latest record (see ``consent.selectors``). The
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
    # A parent or guardian who granted on a child's behalf (PIPL Art. 31): their pseudonym in
    # the audit log, never their phone number.
    guardian_pseudonym = models.CharField(max_length=32, blank=True)
    receipt_id = models.UUIDField(unique=True)
    receipt = models.TextField(help_text="The signed receipt, JSON, exactly as issued.")

    class Meta:
        verbose_name = _("consent record")
        indexes = [
            models.Index(fields=["subject", "purpose", "id"], name="consent_record_latest"),
        ]

    def __str__(self) -> str:
        return f"consent record {self.pk}"


class MinorDeclaration(models.Model):
    """The fact that a subject declared an age under 14, and the day: never a birth date."""

    subject = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="minor_declaration"
    )
    declared_on = models.DateField()

    class Meta:
        verbose_name = _("declaration of an age under 14")

    def __str__(self) -> str:
        return f"minor declaration {self.pk}"


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
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    progress = models.JSONField(default=dict, editable=False)
    # The ERASURE_COMPLETED audit event, which the certificate cites by its leaf index.
    completed_event_id = models.BigIntegerField(null=True, blank=True, editable=False)
    certificate = models.TextField(blank=True, editable=False, help_text="Signed JSON, as issued.")

    class Meta:
        verbose_name = _("erasure request")

    def __str__(self) -> str:
        return f"erasure request {self.pk}"


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


class SessionNumber(models.Model):
    """A phone number typed into the portal, held between asking for a code and entering it:
    the visitor's own at sign-in, or a parent's or guardian's in a child's session.

    Held here, never in the session: a session is an opaque, compressed blob that cannot be
    searched by number, so erasure could not find it. The session keeps only this row's
    random id. ``phone_digest`` (the same keyed digest as the sign-in device's) lets erasure
    find every row holding a number through an index; ``subject`` is the child whose session
    holds a guardian's number. A row lives as long as the code it was sent with, then is
    pruned (``consent.session_numbers.session_numbers_prune``).
    """

    class Kind(models.TextChoices):
        LOGIN = "login", _("sign-in")
        GUARDIAN = "guardian", _("parent or guardian")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=8, choices=Kind.choices, editable=False)
    phone_number = models.CharField(max_length=16, editable=False)  # E.164
    phone_digest = models.CharField(max_length=64, db_index=True, editable=False)
    # The child asking a guardian; erased with the child (CASCADE, and by the inventory).
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    purpose = models.CharField(max_length=64, blank=True, editable=False)
    expires_at = models.DateTimeField(db_index=True, editable=False)

    class Meta:
        verbose_name = _("number held for a sign-in")

    def __str__(self) -> str:
        return f"session number {self.pk}"
