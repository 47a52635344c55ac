"""Identity's tables: accounts, SMS devices, API tokens, send windows, held session numbers."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import ClassVar

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


# (django-manager-missing: SmsDevice's django-otp base classes are untyped, so the type checker's
# Django plugin cannot build the reverse manager ``sms_devices`` here; nothing uses it.)
class User(AbstractBaseUser, PermissionsMixin):  # type: ignore[django-manager-missing]
    """A person who signs in with a phone number: data subjects and staff alike.

    The phone number is the only identity we hold (invariant "minimum-data", docs/ARCHITECTURE.md):
    no name, e-mail, username or ID document. Data subjects have no password; staff have one plus
    TOTP.
    """

    phone_number = PhoneNumberField(unique=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "phone_number"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = "user"
        # Staff pages show numbers masked; this permission allows an audited reveal of one.
        permissions = [("reveal_phone_number", "Can reveal a person's full phone number")]

    def __str__(self) -> str:
        return f"user {self.pk}"

    def get_short_name(self) -> str:
        # The admin greets staff by this, not by the number (the username): screens are seen.
        return str(self)


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

    The device counts the wrong codes entered against its current code from every network
    (``throttling_failure_count``, reset by a new code), but never blocks: back-off, lock-out
    and the daily caps count per number and client network (``CodeAttempts``), so that an
    attacker's wrong codes cannot lock the owner out. The device is made at the first attempt
    for any number, known or not, with the same statements for all. A device whose number
    never signed in is personal data with no purpose once its code expired: ``identity_prune``
    deletes it.
    """

    # The fields' types are written out: django-otp's base classes are untyped, so the type
    # checker cannot infer them.
    user: models.ForeignKey[User | None, User | None] = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sms_devices",
        help_text="Set at the first successful verification.",
    )
    phone_digest: models.CharField[str, str] = models.CharField(
        max_length=64, unique=True, editable=False
    )
    # The SMS code is how a data subject signs in: a first factor. django-otp's middleware
    # counts only confirmed devices as a verified second factor, so an SMS device is never
    # confirmed: even a hand-made admin login POST naming it cannot open the admin (TOTP only).
    confirmed: models.BooleanField[bool, bool] = models.BooleanField(default=False, editable=False)
    # HMAC-SHA256 hex of the code; SideChannelDevice's 16 characters would hold the code itself.
    # NULL = no usable code, as in SideChannelDevice.
    token: models.CharField[str | None, str | None] = models.CharField(  # noqa: DJ001
        max_length=64, blank=True, null=True, editable=False
    )
    # Keyed digest of what the current code was sent for (consent.identity.services.CodeUse).
    binding: models.CharField[str, str] = models.CharField(
        max_length=64, blank=True, default="", editable=False
    )

    objects = SmsDeviceManager()

    class Meta:
        verbose_name = _("SMS device")

    def get_throttle_factor(self) -> int:
        # No back-off on the device: it is shared by every network (see CodeAttempts).
        return 0

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
        """A new code replaces the old one (and its binding) and its count of wrong codes."""
        self.token = self.code_digest(code)
        self.binding = binding
        self.valid_until = valid_until
        self.throttle_reset(commit=False)
        if commit:
            self.save(update_fields=CODE_FIELDS)

    def code_matches(self, code: str) -> bool:
        """Whether ``code`` is the current code, whatever it was sent for (constant time)."""
        return bool(self.token and constant_time_compare(self.token, self.code_digest(str(code))))

    def verify_token(self, token, binding: str = "") -> bool:
        """Single use, expiring, and only for what the code was sent for (the ``binding``
        digest); compared in constant time. A right code used for something else counts as a
        wrong code. The caller throttles, per network (``CodeAttempts``). django-otp's own
        forms (the admin's login) call this without a binding: no code is ever sent for them,
        so there it always fails."""
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
    """Recent code sends (sliding window) for one number asked from one client network, one
    number from all networks, one client address or one number prefix.

    Keyed by an HMAC of the value, never the value; rows counting a number also hold the
    number's keyed digest (``phone_digest``), by which erasure finds them. The row is locked
    while counting so that several processes cannot all pass the limit at once.
    """

    class Scope(models.TextChoices):
        # Codes sent to a number at the request of one client network (``ip_limit_key``).
        NUMBER = "number"
        # Codes sent to a number at the request of any network: the cap above the one before.
        NUMBER_TOTAL = "number_total"
        IP = "ip"
        PREFIX = "prefix"

    scope = models.CharField(max_length=16, choices=Scope.choices)
    key = models.CharField(max_length=64)
    # The number's keyed digest for the number scopes (erasure finds them by it), else empty.
    phone_digest = models.CharField(max_length=64, blank=True, default="", db_index=True)
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


class CodeAttempts(models.Model):
    """Wrong codes entered for one number from one client network (``network``: a keyed digest
    of ``ip_limit_key``), or from all networks together (``network`` empty).

    Per network: the back-off (``OTP_SMS_THROTTLE_FACTOR`` seconds, doubling per wrong code)
    and the lock-out after ``OTP_SMS_MAX_FAILURES``, lifted by a new code asked from that
    network, or forgotten ``OTP_SMS_CODE_VALIDITY`` seconds after the last wrong code. For
    both kinds, ``hits`` holds the times of the wrong codes inside ``OTP_FAILURE_WINDOW``: the
    daily caps (``OTP_FAILURES_PER_NUMBER_NETWORK``, ``OTP_FAILURES_PER_NUMBER``). An
    attacker's wrong codes therefore lock out only the attacker's network; only the cap of the
    number as a whole, which bounds guessing, is shared.

    Rows are made at the first attempt for any number, known or not, and never point at an
    account, so every number's answers are alike; they hold digests only and are pruned once
    they say nothing (``expires_at``).
    """

    phone_digest = models.CharField(max_length=64, editable=False)
    network = models.CharField(max_length=64, blank=True, editable=False)
    # Wrong codes since the last code this network asked for (or success, or forgetting).
    failures = models.PositiveIntegerField(default=0)
    last_failure = models.DateTimeField(null=True, blank=True)
    # Times (milliseconds since the epoch) of wrong codes inside OTP_FAILURE_WINDOW, oldest first.
    hits = models.JSONField(default=list)
    # When the row stops mattering: the back-off forgotten and the last hit out of the window.
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("sign-in code attempts")
        verbose_name_plural = _("sign-in code attempts")
        constraints = [
            models.UniqueConstraint(
                fields=["phone_digest", "network"], name="consent_codeattempts_number_network"
            )
        ]

    def __str__(self) -> str:
        return f"code attempts {self.pk}"


class SessionNumber(models.Model):
    """A phone number typed into the portal, held between asking for a code and entering it:
    the visitor's own at sign-in, or a parent's or guardian's in a child's session.

    Held here, never in the session: a session is an opaque, compressed blob that cannot be
    searched by number, so erasure could not find it. The session keeps only this row's
    random id. ``phone_digest`` (the same keyed digest as the sign-in device's) lets erasure
    find every row holding a number through an index; ``subject`` is the child whose session
    holds a guardian's number. A row lives as long as the code it was sent with, then is
    pruned (``consent.identity.session_numbers.session_numbers_prune``).
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
        verbose_name_plural = _("numbers held for a sign-in")

    def __str__(self) -> str:
        return f"session number {self.pk}"


class ErasedNumber(models.Model):
    """The keyed digest of an erased account's number, while its erasure is unfinished.

    The stores that find sign-in data by the number (devices, send windows, code attempts,
    held numbers) read it from the account row, which erasure deletes before its final check:
    someone typing the number meanwhile would leave rows no store could find, under a
    certificate saying nothing is left. So the account's erasure writes this row in the
    transaction that deletes the account (``stores.subject_erase``), those stores fall back on
    it, and the erasure's completion deletes it (``services.erased_number_forget``) in the
    transaction that proves the stores empty: it never outlives a finished erasure. It holds
    the digest only, never the number.
    """

    subject_ref = models.BigIntegerField(primary_key=True, editable=False)
    phone_digest = models.CharField(max_length=64, editable=False)

    class Meta:
        verbose_name = _("number of an account being erased")
        verbose_name_plural = _("numbers of accounts being erased")

    def __str__(self) -> str:
        return f"erased number {self.pk}"
