"""Identity: SMS sign-in codes, API tokens, portal sessions, staff accounts, pruning.

Every write is here, with its audit event in the same transaction (DESIGN invariant 2). Audit
data never holds a phone number, an address or a code: numbers are found again through
keyed digests (``selectors.keyed_digest``), subjects through the audit log's pseudonyms.

Events before a successful verification (codes sent, refused, failed, lock-outs) name no
subject: looking the account up would make known numbers measurably slower to answer than
unknown ones, an enumeration oracle. From the verification on, events name the subject.
"""

from __future__ import annotations

import math
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_number_token
from phonenumbers import PhoneNumberType

from audit.actions import AuditAction
from audit.services import audit_record, pseudonym_for
from compliance_site import inventory
from compliance_site.errors import (
    ApplicationError,
    Conflict,
    Forbidden,
    RateLimited,
    ServiceUnavailable,
)
from consent.gate import lock_subject
from consent.models import (
    CODE_FIELDS,
    LOCKED_OUT,
    ApiToken,
    ConsentRecord,
    MinorDeclaration,
    PolicyText,
    PolicyVersion,
    Purpose,
    SendWindow,
    SmsDevice,
    User,
)
from consent.policies import LANGUAGES, text_sha256
from consent.receipts import ReceiptFacts, receipt_issue
from consent.selectors import (
    ClientEvidence,
    check_language,
    e164,
    ip_limit_key,
    is_dpo,
    keyed_digest,
    latest_record_for,
    minor_declared_on,
    phone_digest,
    prefix_limit_key,
    purpose_by_code,
    token_digest,
    user_for_number,
)
from consent.sms import SmsDeliveryError, send_sms

CODE_LENGTH = 6
# Long enough for any formatted international number; longer input is refused unparsed.
PHONE_MAX_LENGTH = 32
# Numbers that reliably receive SMS and belong to one person. VOIP numbers are refused: they
# are obtained in bulk for nothing, which makes them the tool of fake sign-ups and SMS-pumping
# fraud, and many cannot receive short-code SMS at all. Pagers, UAN and personal numbers
# (forwarding services) are refused for the same reasons. Where a country's plan cannot tell
# mobile from fixed (FIXED_LINE_OR_MOBILE, e.g. the US), the number is allowed.
_SMS_CAPABLE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"
# Staff roles are Django groups holding exactly these permissions (``staff_roles_sync``, run
# after every migrate). No role sees biometric data: the admin shows none (biometrics.admin).
STAFF_ROLES: dict[str, tuple[str, ...]] = {
    # Data-subject requests, and the subject list with masked phone numbers; may reveal one
    # person's full number (audited) when the person asks for help.
    "support": (
        "consent.view_user",
        "consent.reveal_phone_number",
        "consent.view_erasurerequest",
        "consent.view_reportjob",
        "biometrics.view_capture",
    ),
    # Publishes policies (``is_dpo``) and approves templates: records their licences and the
    # depicted people's consents (the swap app's admin).
    "dpo": (
        "consent.view_user",
        "consent.view_purpose",
        "consent.view_policyversion",
        "consent.add_policyversion",
        "consent.view_consentrecord",
        "swap.view_swaptemplate",
        "swap.add_swaptemplate",
        "swap.view_templatelicence",
        "swap.add_templatelicence",
        "swap.view_depictedpersonconsent",
        "swap.add_depictedpersonconsent",
    ),
    # Exports of the audit log (/auditor/ and the API, audit.apis); nothing in the admin.
    "auditor": (),
}


# --- phone numbers ----------------------------------------------------------------------------


def check_phone(raw: str) -> phonenumbers.PhoneNumber:
    """Parse an international number that can receive our SMS, or raise ``invalid_phone``.

    Refused: unparseable or invalid numbers, extensions, numbers in
    ``OTP_BLOCKED_COUNTRY_CODES``, and every type but mobile (premium-rate, shared-cost,
    toll-free, fixed-line, VOIP, pager, ...; see ``_SMS_CAPABLE_TYPES``).
    """
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise _invalid_phone(
            _("Enter your mobile number in international format: + then the country code.")
        ) from None
    if not phonenumbers.is_valid_number(number) or number.extension:
        raise _invalid_phone(_("This is not a valid phone number. Check it and try again."))
    blocked = number.country_code in settings.OTP_BLOCKED_COUNTRY_CODES
    if blocked or phonenumbers.number_type(number) not in _SMS_CAPABLE_TYPES:
        raise _invalid_phone(_("This number cannot receive sign-in codes. Use a mobile number."))
    return number


def _invalid_phone(detail: str) -> ApplicationError:
    return ApplicationError(detail, code="invalid_phone")


# --- sending codes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeUse:
    """What a one-time code is sent for. It is stored with the code as a keyed digest
    (``SmsDevice.binding``) and the code passes only where it is used for exactly that:
    a guardian's code cannot sign the guardian in, a sign-in code cannot grant for a child,
    and a guardian's code grants only the purpose it was asked for, for the child who asked."""

    action: str
    subject_id: int | None = None
    purpose: str = ""

    SIGN_IN = "sign_in"
    GUARDIAN_GRANT = "guardian_grant"

    def digest(self) -> str:
        return keyed_digest("code-use", f"{self.action}:{self.subject_id or ''}:{self.purpose}")


SIGN_IN = CodeUse(CodeUse.SIGN_IN)


def guardian_grant_use(*, subject: User, purpose: str) -> CodeUse:
    return CodeUse(CodeUse.GUARDIAN_GRANT, subject_id=subject.pk, purpose=purpose)


@dataclass(frozen=True)
class _Limit:
    scope: str
    key: str
    limit: int
    window: int  # seconds


def otp_request(*, phone: str, client_ip: str, use: CodeUse = SIGN_IN) -> str:
    """Send a one-time code to ``phone`` for ``use`` (signing in unless said otherwise);
    returns the number in E.164. The code is stored bound to ``use``, and the text message
    says what it is for.

    The answer, and the work done, are the same whether or not the number has an account (no
    enumeration): the account is not even looked up, so these events name no subject. The
    order of side effects matters:
    1. count the send against the per-number, per-address and per-prefix limits and commit,
       so concurrent requests in other processes see it (refusals are audited, not counted);
    2. send outside any transaction, so no lock is held while the gateway answers;
    3. only once the gateway took the message, store the code's HMAC on the device. A failed
       send therefore leaves the previous code usable and is NOT counted against any limit
       (its claim is released): the user did not get a code and may simply retry.
    """
    number = check_phone(phone)
    to, now = e164(number), timezone.now()
    limits = _send_limits(number, client_ip)
    with transaction.atomic(durable=True):
        refusal = _send_windows_claim(limits, now)
        if refusal is not None:
            _record(AuditAction.OTP_SEND_REFUSED, subject=None, data=refusal[1])
    if refusal is not None:
        raise refusal[0]
    code = random_number_token(CODE_LENGTH)
    try:
        send_sms(to, _code_message(code, use))
    except SmsDeliveryError:
        _send_failed(limits, now)
        raise ServiceUnavailable(
            _("We could not send the text message just now. Please try again."),
            code="sms_unavailable",
        ) from None
    valid_until = now + timedelta(seconds=settings.OTP_SMS_CODE_VALIDITY)
    with transaction.atomic(durable=True):
        _device_code_store(number=number, code=code, valid_until=valid_until, use=use)
        data = {"valid_seconds": settings.OTP_SMS_CODE_VALIDITY}
        _record(AuditAction.OTP_REQUESTED, subject=None, data=data)
    return to


def _sender() -> str:
    return settings.SMS_SENDER_NAME


def _code_message(code: str, use: CodeUse) -> str:
    values = {"name": _sender(), "code": code}
    if use.action == CodeUse.GUARDIAN_GRANT:
        values["purpose"] = _purpose_title(use.purpose)
        return (
            _(
                "%(name)s: %(code)s is your code to give consent on behalf of your child to "
                "“%(purpose)s”. Enter it only if you agree."
            )
            % values
        )
    return _("%(name)s: %(code)s is your code to sign in. Do not share it.") % values


def _purpose_title(purpose: str) -> str:
    """The title of the purpose's current text in the active language (the request's)."""
    try:
        language = check_language(translation.get_language() or "en")
    except ApplicationError:
        language = "en"
    current = purpose_by_code(purpose).current_version_id
    text = PolicyText.objects.filter(policy_id=current, language=language).first()
    return text.title if text is not None else purpose


def _send_limits(number: phonenumbers.PhoneNumber, client_ip: str) -> list[_Limit]:
    # Always this order: rows are locked in it, so concurrent requests cannot deadlock.
    return [
        _Limit(
            SendWindow.Scope.NUMBER,
            phone_digest(number),
            settings.OTP_SEND_LIMIT_PER_NUMBER,
            settings.OTP_SEND_WINDOW_PER_NUMBER,
        ),
        _Limit(
            SendWindow.Scope.IP,
            keyed_digest("ip", ip_limit_key(client_ip)),
            settings.OTP_SEND_LIMIT_PER_IP,
            settings.OTP_SEND_WINDOW_PER_IP,
        ),
        _Limit(
            SendWindow.Scope.PREFIX,
            keyed_digest("prefix", prefix_limit_key(number)),
            settings.OTP_SEND_LIMIT_PER_PREFIX,
            settings.OTP_SEND_WINDOW_PER_PREFIX,
        ),
    ]


def _send_windows_claim(limits: Sequence[_Limit], now: datetime) -> tuple[RateLimited, dict] | None:
    """Count one send in every window, or in none if any is full (then say which and how long)."""
    stamp = _millis(now)
    rows = [_send_window_locked(limit) for limit in limits]
    waits: dict[str, int] = {}
    for limit, row in zip(limits, rows, strict=True):
        row.hits = [hit for hit in row.hits if hit > stamp - limit.window * 1000]
        if len(row.hits) >= limit.limit:
            frees_at = row.hits[-limit.limit] + limit.window * 1000
            waits[limit.scope] = math.ceil((frees_at - stamp) / 1000)
    if waits:
        retry_after = max(waits.values())
        error = RateLimited(_too_many(retry_after), retry_after=retry_after)
        return error, {"limits": sorted(waits), "retry_after": retry_after}
    for limit, row in zip(limits, rows, strict=True):
        row.hits.append(stamp)
        row.expires_at = now + timedelta(seconds=limit.window)
        row.save(update_fields=["hits", "expires_at"])
    return None


def _send_window_locked(limit: _Limit) -> SendWindow:
    row, _created = SendWindow.objects.select_for_update().get_or_create(
        scope=limit.scope, key=limit.key, defaults={"expires_at": timezone.now()}
    )
    return row


def _send_failed(limits: Sequence[_Limit], now: datetime) -> None:
    stamp = _millis(now)
    with transaction.atomic(durable=True):
        for limit in limits:
            row = _send_window_locked(limit)
            if stamp in row.hits:
                row.hits.remove(stamp)
                row.save(update_fields=["hits"])
        _record(AuditAction.OTP_SEND_FAILED, subject=None, data={"counted": False})


def _device_code_store(
    *, number: phonenumbers.PhoneNumber, code: str, valid_until: datetime, use: CodeUse
) -> None:
    device = SmsDevice(phone_digest=phone_digest(number), name="SMS")
    device.store_token(code, valid_until, commit=False, binding=use.digest())
    # One upsert whether or not the number has a device (a number that signed in has one): the
    # same statement for both, so the answer time says nothing about the account.
    SmsDevice.objects.bulk_create(
        [device], update_conflicts=True, unique_fields=["phone_digest"], update_fields=CODE_FIELDS
    )


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _too_many(seconds: int) -> str:
    if seconds >= 120:
        minutes = math.ceil(seconds / 60)
        wait = ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    else:
        wait = ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    return _("Too many attempts. Try again in %(wait)s.") % {"wait": wait}


# --- verifying codes and signing in -----------------------------------------------------------


@dataclass
class _Attempt:
    user: User | None = None
    refusal: ApplicationError | None = None


def token_login(*, phone: str, code: str) -> str:
    """Check the code; on success create the account if new and return a new API token key.

    A refusal is raised only after the transaction committed, so the failed attempt (back-off
    counter and audit event) is kept.
    """
    number = check_phone(phone)
    key = ""
    with transaction.atomic(durable=True):
        attempt = _otp_check(number=number, code=code, use=SIGN_IN)
        if attempt.user is not None:
            key = _api_token_issue(user=attempt.user)
            _record(AuditAction.LOGIN, actor=attempt.user, subject=attempt.user, data=_API)
    if attempt.refusal is not None:
        raise attempt.refusal
    return key


def session_login(*, request: HttpRequest, phone: str, code: str) -> User:
    """As ``token_login``, for the portal: log the user into ``request``'s session, which
    ``django.contrib.auth.login`` rotates (no session fixation)."""
    number = check_phone(phone)
    with transaction.atomic(durable=True):
        attempt = _otp_check(number=number, code=code, use=SIGN_IN)
        if attempt.user is not None:
            auth_login(request, attempt.user, backend=_SESSION_BACKEND)
            _record(AuditAction.LOGIN, actor=attempt.user, subject=attempt.user, data=_PORTAL)
    if attempt.refusal is not None:
        raise attempt.refusal
    assert attempt.user is not None  # no refusal means a user
    return attempt.user


_API = {"channel": "api"}
_PORTAL = {"channel": "portal"}


def _otp_check(*, number: phonenumbers.PhoneNumber, code: str, use: CodeUse) -> _Attempt:
    """Verify ``code`` for ``use`` under a row lock; record the outcome. Runs in the caller's
    transaction. A right code sent for another use fails as a wrong code (``other_use``)."""
    device = _device_locked(number)
    allowed, info = device.verify_is_allowed()
    if not allowed:
        return _refused_while_blocked(info)
    reason = _failure_reason(device, code=code)
    if not device.verify_token(code, binding=use.digest()):
        failures = device.throttling_failure_count
        data = {"reason": reason, "failures": failures}
        _record(AuditAction.OTP_FAILED, subject=None, data=data)
        if device.is_locked_out:
            _record(AuditAction.OTP_LOCKED_OUT, subject=None, data={"failures": failures})
            return _Attempt(refusal=_locked_out())
        return _Attempt(refusal=_invalid_code())
    return _subject_verified(device, number)


def _device_locked(number: phonenumbers.PhoneNumber) -> SmsDevice:
    """The number's device, made if missing, locked (FOR UPDATE: two requests with the same
    code cannot both use it). Every number, with an account, a code or neither, gets the same
    row and the same statements, so back-off and lock-out answer alike for all: no oracle."""
    digest = phone_digest(number)
    SmsDevice.objects.bulk_create(
        [SmsDevice(phone_digest=digest, name="SMS")], ignore_conflicts=True
    )
    return SmsDevice.objects.select_for_update().get(phone_digest=digest)


def _failure_reason(device: SmsDevice, *, code: str) -> str:
    if not device.token:
        return "no_code"
    if device.valid_until <= timezone.now():
        return "expired"
    if device.code_matches(code):
        return "other_use"
    return "wrong_code"


def _refused_while_blocked(info: dict) -> _Attempt:
    if info["reason"] == LOCKED_OUT:
        _record(AuditAction.OTP_FAILED, subject=None, data={"reason": "locked_out"})
        return _Attempt(refusal=_locked_out())
    wait = math.ceil((info["locked_until"] - timezone.now()).total_seconds())
    _record(AuditAction.OTP_FAILED, subject=None, data={"reason": "backing_off"})
    return _Attempt(refusal=RateLimited(_too_many(wait), retry_after=wait))


def _subject_verified(device: SmsDevice, number: phonenumbers.PhoneNumber) -> _Attempt:
    """The code was right: the account exists from now on (created at first verification)."""
    user = device.user or user_for_number(number)
    if user is None:
        user = User.objects.create_user(phone_number=e164(number))
        _record(AuditAction.SUBJECT_CREATED, actor=user, subject=user)
    if device.user_id != user.pk:
        device.user = user
        device.save(update_fields=["user"])
    if not user.is_active:
        _record(AuditAction.OTP_FAILED, subject=user, data={"reason": "account_disabled"})
        return _Attempt(refusal=Forbidden(_("This account is disabled."), code="account_disabled"))
    _record(AuditAction.OTP_VERIFIED, actor=user, subject=user)
    return _Attempt(user=user)


def _invalid_code() -> ApplicationError:
    return ApplicationError(
        _("This code is wrong or has expired. Check it, or ask for a new code."),
        code="invalid_code",
    )


def _locked_out() -> ApplicationError:
    return ApplicationError(
        _("Too many wrong codes. Ask for a new code to try again."), code="locked_out"
    )


# --- tokens and sign-out ------------------------------------------------------------------------


def _api_token_issue(*, user: User) -> str:
    """A new API token for ``user``; only its SHA-256 is stored. Runs in the caller's
    transaction."""
    key = secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(seconds=settings.API_TOKEN_TTL)
    ApiToken.objects.create(user=user, key_digest=token_digest(key), expires_at=expires_at)
    return key


def token_logout(*, token: ApiToken) -> None:
    """Sign an API client out: its token stops working at once (the row is deleted)."""
    with transaction.atomic(durable=True):
        data = {**_API, "token": token.pk}
        _record(AuditAction.LOGOUT, actor=token.user, subject=token.user, data=data)
        token.delete()


def session_logout(*, request: HttpRequest) -> None:
    """Sign the portal user out: the session is flushed."""
    user = request.user
    with transaction.atomic(durable=True):
        if user.is_authenticated:
            _record(AuditAction.LOGOUT, actor=user, subject=user, data=_PORTAL)
        auth_logout(request)


# --- staff ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffCredentials:
    """What a new staff member needs once: shown at creation, never stored in clear."""

    user: User
    password: str
    otpauth_uri: str


def check_staff_roles(roles: Sequence[str]) -> None:
    unknown = sorted(set(roles) - STAFF_ROLES.keys())
    if unknown:
        raise ApplicationError(
            _("Unknown staff role: %(roles)s.") % {"roles": ", ".join(unknown)},
            code="invalid_role",
        )


def staff_create(
    *, phone: str, roles: Sequence[str] = (), superuser: bool = False, actor: User | None = None
) -> StaffCredentials:
    """A staff account with a random password and a confirmed TOTP device (the admin's second
    factor). Roles are Django groups, created with their permissions when missing."""
    number = check_phone(phone)
    check_staff_roles(roles)
    with transaction.atomic(durable=True):
        if user_for_number(number) is not None:
            raise Conflict(_("An account with this phone number exists."), code="account_exists")
        password = _new_password()
        user = User.objects.create_user(
            phone_number=e164(number), password=password, is_staff=True, is_superuser=superuser
        )
        user.groups.set([_role_group(role) for role in roles])
        device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
        data = {"roles": sorted(set(roles)), "superuser": superuser}
        _record(AuditAction.STAFF_CREATED, actor=actor, subject=user, data=data)
    return StaffCredentials(user=user, password=password, otpauth_uri=device.config_url)


def staff_credentials_reset(*, user: User, actor: User | None = None) -> StaffCredentials:
    """A new random password for a staff member; their TOTP device is kept (or made if none)."""
    if not user.is_staff:
        raise Conflict(_("This account is not a staff account."), code="not_staff")
    with transaction.atomic(durable=True):
        password = _new_password()
        user.set_password(password)
        user.save(update_fields=["password"])
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        device = device or TOTPDevice.objects.create(user=user, name="default", confirmed=True)
        _record(AuditAction.STAFF_PASSWORD_RESET, actor=actor, subject=user)
    return StaffCredentials(user=user, password=password, otpauth_uri=device.config_url)


def _role_group(role: str) -> Group:
    group, _created = Group.objects.get_or_create(name=role)
    group.permissions.set(_role_permissions(role))
    return group


def _role_permissions(role: str) -> list[Permission]:
    """The role's permissions that exist (an app not migrated yet has none to give)."""
    wanted = Q(pk__in=[])
    for dotted in STAFF_ROLES[role]:
        app_label, codename = dotted.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(wanted))


def staff_roles_sync() -> None:
    """Make each role's group hold exactly the role's permissions (idempotent). Run after
    every migrate, so a permission added to a role, or by an app, reaches the groups."""
    with transaction.atomic():
        for role in STAFF_ROLES:
            _role_group(role)


def _new_password() -> str:
    return secrets.token_urlsafe(18)


def staff_login_record(*, user: User) -> None:
    """Audit a sign-in through the admin's login form. Runs in the login request's transaction.

    ``second_factor`` says whether a confirmed TOTP device verified it: without one the
    session exists but the admin stays closed (OTPAdminSite).
    """
    device = getattr(user, "otp_device", None)
    data = {"channel": "admin", "second_factor": bool(device is not None and device.confirmed)}
    with transaction.atomic(savepoint=False):
        _record(AuditAction.STAFF_LOGIN, actor=user, subject=None, data=data)


def staff_logout_record(*, user: User) -> None:
    with transaction.atomic(savepoint=False):
        _record(AuditAction.LOGOUT, actor=user, subject=None, data={"channel": "admin"})


def staff_view_record(*, staff: User, subject: User) -> None:
    """Audit a staff member opening a person's record (DESIGN invariant 2). The event names
    the person by pseudonym only: an account id beside it would be the pseudonym's mapping."""
    with transaction.atomic(savepoint=False):
        _record(AuditAction.STAFF_VIEWED_SUBJECT, actor=staff, subject=subject)


def staff_subject_find(*, staff: User, phone: str) -> User | None:
    """The account with this number, for staff who have the person on the line; audited
    whether or not it exists (the event holds no number). Raises ``invalid_phone``."""
    number = check_phone(phone)
    with transaction.atomic(durable=True):
        subject = user_for_number(number)
        data = {"list": "consent.user", "by": "phone", "results": int(subject is not None)}
        _record(AuditAction.STAFF_SEARCHED_SUBJECTS, actor=staff, subject=subject, data=data)
    return subject


def staff_phone_reveal(*, staff: User, subject: User) -> str:
    """The person's full number, for staff allowed to see it; audited, every time."""
    with transaction.atomic(durable=True):
        _record(AuditAction.STAFF_REVEALED_PHONE_NUMBER, actor=staff, subject=subject)
    number = phonenumbers.parse(str(subject.phone_number), None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# --- retention ----------------------------------------------------------------------------------


def identity_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Delete what has no purpose left: devices of numbers that never signed in once their
    code expired and their failures are forgotten (deleting one then changes no answer: a
    new one starts the same), send windows with no hit left inside them, expired API tokens."""
    now = now or timezone.now()
    forgotten = now - timedelta(seconds=settings.OTP_SMS_CODE_VALIDITY)
    stale = Q(throttling_failure_timestamp=None) | Q(throttling_failure_timestamp__lte=forgotten)
    devices = SmsDevice.objects.filter(stale, user=None, valid_until__lt=now)
    with transaction.atomic(durable=True):
        counts = {
            "devices": devices.delete()[0],
            "send_windows": SendWindow.objects.filter(expires_at__lt=now).delete()[0],
            "api_tokens": ApiToken.objects.filter(expires_at__lt=now).delete()[0],
        }
        if any(counts.values()):
            _record(AuditAction.IDENTITY_PRUNED, subject=None, data=counts)
    return counts


def _record(action: AuditAction, *, subject: User | None, actor: User | None = None, **kw) -> None:
    audit_record(actor=actor, subject=subject, action=action, **kw)


# --- the consent ledger -------------------------------------------------------------------------
#
# Every grant and withdrawal locks the subject's row first, so one subject's records (and
# their audit events) are written one at a time, in order: the latest record is the state.
# ``consent.gate.require_consent(lock=True)`` takes the same lock.

_MAX_POLICY_TEXT = 100_000


def check_policy(*, purpose: str, version: int, sha256: str) -> tuple[Purpose, PolicyText]:
    """The purpose's current text whose version and SHA-256 the client quoted, proving which
    text was shown; ``policy_mismatch`` (409) for anything else, including older versions."""
    row = purpose_by_code(purpose)
    text = (
        PolicyText.objects.select_related("policy")
        .filter(policy_id=row.current_version_id, policy__version=version, sha256=sha256)
        .first()
    )
    if text is None:
        current = row.current_version.version if row.current_version else None
        raise Conflict(
            _(
                "This is not the current text of “%(purpose)s”. Reload it, read it and "
                "consent again."
            )
            % {"purpose": purpose},
            code="policy_mismatch",
            extra={"purpose": purpose, "version": current},
        )
    return row, text


def check_no_guardian_needed(*, subject: User) -> None:
    """PIPL Art. 31: a subject who declared an age under 14 cannot consent alone."""
    if minor_declared_on(subject) is not None:
        raise Forbidden(
            _("You told us you are under 14: a parent or guardian must give this consent."),
            code="guardian_required",
        )


def _check_not_granted(record: ConsentRecord | None, purpose: Purpose) -> None:
    granted = record is not None and record.action == ConsentRecord.Action.GRANT
    if granted and record.policy_id == purpose.current_version_id:
        raise Conflict(
            _("You have already given this consent."),
            code="already_granted",
            extra={"purpose": purpose.code},
        )


def consent_grant(
    *, subject: User, purpose: str, version: int, sha256: str, evidence: ClientEvidence
) -> ConsentRecord:
    """Record the subject's explicit consent to one purpose's current text and issue a
    signed receipt. Refused (nothing written): a text that is not current (409
    ``policy_mismatch``), a consent already current (409), a declared minor (403)."""
    row, text = check_policy(purpose=purpose, version=version, sha256=sha256)
    with transaction.atomic(durable=True):
        lock_subject(subject.pk)
        check_no_guardian_needed(subject=subject)
        _check_not_granted(latest_record_for(subject, row), row)
        return _record_write(
            subject=subject,
            purpose=row,
            text=text,
            action=ConsentRecord.Action.GRANT,
            evidence=evidence,
            actor=subject,
        )


def consent_withdraw(*, subject: User, purpose: str, evidence: ClientEvidence) -> ConsentRecord:
    """Withdraw consent to one purpose: one action, effective at once. Later gate checks
    refuse, and the data collected under it is erased in the same transaction."""
    row = purpose_by_code(purpose)
    with transaction.atomic(durable=True):
        lock_subject(subject.pk)
        return _consent_withdraw(subject=subject, purpose=row, evidence=evidence)


def _consent_withdraw(
    *, subject: User, purpose: Purpose, evidence: ClientEvidence, reason: str = ""
) -> ConsentRecord:
    """Runs in the caller's transaction, with the subject's row locked.

    Order matters: the stores registered for the purpose erase first, while the consent
    still stands (a store may check the gate before deleting), then the withdrawal is
    recorded and audited with what was erased. Any failure rolls all of it back.
    """
    latest = latest_record_for(subject, purpose)
    if latest is None or latest.action != ConsentRecord.Action.GRANT:
        raise Conflict(
            _("You have not given this consent, so there is nothing to withdraw."),
            code="not_granted",
            extra={"purpose": purpose.code},
        )
    erased = {
        store.name: store.erase(subject.pk) for store in inventory.stores_for_purpose(purpose.code)
    }
    text = PolicyText.objects.get(policy_id=latest.policy_id, language=latest.language)
    return _record_write(
        subject=subject,
        purpose=purpose,
        text=text,
        action=ConsentRecord.Action.WITHDRAW,
        evidence=evidence,
        actor=subject,
        reason=reason,
        erased=erased,
    )


def _record_write(
    *,
    subject: User,
    purpose: Purpose,
    text: PolicyText,
    action: str,
    evidence: ClientEvidence,
    actor: User,
    guardian: User | None = None,
    reason: str = "",
    erased: dict[str, int] | None = None,
) -> ConsentRecord:
    """Insert one record with its signed receipt, and its audit event. Caller's transaction."""
    now, receipt_id = timezone.now(), uuid.uuid4()
    guardian_id = pseudonym_for(guardian) if guardian is not None else ""
    facts = ReceiptFacts(
        receipt_id=receipt_id,
        moment=now,
        action=action,
        method=evidence.method,
        reason=reason,
        principal_id=pseudonym_for(subject),
        guardian_id=guardian_id,
        purpose=purpose,
        text=text,
        version=text.policy.version,
    )
    record = ConsentRecord.objects.create(
        subject=subject,
        purpose=purpose,
        policy_id=text.policy_id,
        action=action,
        created_at=now,
        method=evidence.method,
        reason=reason,
        language=text.language,
        text_sha256=text.sha256,
        user_agent_sha256=evidence.user_agent_sha256,
        ip_network=evidence.ip_network,
        guardian_pseudonym=guardian_id,
        receipt_id=receipt_id,
        receipt=receipt_issue(facts),
    )
    _record_audit(record, actor=actor, version=text.policy.version, erased=erased)
    return record


def _record_audit(
    record: ConsentRecord, *, actor: User, version: int, erased: dict[str, int] | None
) -> None:
    # Evidence hashes and the network stay in the record: the log refuses addresses.
    data: dict = {
        "version": version,
        "language": record.language,
        "sha256": record.text_sha256,
        "method": record.method,
        "receipt": str(record.receipt_id),
    }
    if record.guardian_pseudonym:
        data["guardian"] = record.guardian_pseudonym
    if record.reason:
        data["reason"] = record.reason
    if erased is not None:
        data["erased"] = erased
    grant = record.action == ConsentRecord.Action.GRANT
    audit_record(
        actor=actor,
        subject=record.subject,
        action=AuditAction.CONSENT_GRANTED if grant else AuditAction.CONSENT_WITHDRAWN,
        object_type="consent_record",
        object_id=str(record.pk),
        purpose=record.purpose.code,
        data=data,
    )


# --- minors and their guardians (PIPL Art. 31) ------------------------------------------------


def minor_declaration_create(*, subject: User, evidence: ClientEvidence) -> MinorDeclaration:
    """Record that the subject declared an age under 14 (the fact and the day, nothing more).

    From then on only a parent or guardian can grant. Consents the subject gave alone were
    never valid, so they are withdrawn now, erasing what was collected under them.
    """
    with transaction.atomic(durable=True):
        lock_subject(subject.pk)
        if minor_declared_on(subject) is not None:
            raise Conflict(_("You have already told us you are under 14."), code="already_declared")
        declaration = MinorDeclaration.objects.create(
            subject=subject, declared_on=timezone.now().date()
        )
        audit_record(
            actor=subject,
            subject=subject,
            action=AuditAction.MINOR_DECLARED,
            object_type="minor_declaration",
            object_id=str(declaration.pk),
            data={"method": evidence.method},
        )
        for purpose in Purpose.objects.exclude(current_version=None):
            latest = latest_record_for(subject, purpose)
            if latest is not None and latest.action == ConsentRecord.Action.GRANT:
                if not latest.guardian_pseudonym:
                    _consent_withdraw(
                        subject=subject,
                        purpose=purpose,
                        evidence=evidence,
                        reason=ConsentRecord.Reason.MINOR_DECLARED,
                    )
    return declaration


def check_guardian_request(*, subject: User, number: phonenumbers.PhoneNumber) -> None:
    if minor_declared_on(subject) is None:
        raise Conflict(
            _("Only accounts of children under 14 need a parent or guardian to consent."),
            code="guardian_not_needed",
        )
    if e164(number) == str(subject.phone_number):
        raise Conflict(
            _("A parent or guardian must use their own phone number, not the child's."),
            code="guardian_is_subject",
        )


def guardian_code_request(*, subject: User, phone: str, purpose: str, client_ip: str) -> str:
    """Text a code to the parent or guardian of ``subject`` (a declared minor) so that they
    can consent on the child's behalf to ``purpose``, which the text names; the code grants
    that purpose for that child and nothing else (``CodeUse``). The same sending limits as
    signing in apply."""
    check_guardian_request(subject=subject, number=check_phone(phone))
    purpose_by_code(purpose)  # unknown_purpose, before anything is sent
    use = guardian_grant_use(subject=subject, purpose=purpose)
    return otp_request(phone=phone, client_ip=client_ip, use=use)


def consent_guardian_grant(
    *,
    subject: User,
    phone: str,
    code: str,
    purpose: str,
    version: int,
    sha256: str,
    evidence: ClientEvidence,
) -> ConsentRecord:
    """A parent or guardian grants one purpose for a child under 14, proving control of their
    own phone with the code texted to it. The guardian's account is created or used as at
    sign-in; the record, its receipt and the audit event name them by pseudonym. The code
    must have been sent for this child and this purpose (``guardian_code_request``); any
    other code fails as a wrong one.

    The policy and the child's state are checked before the code, so a mistake does not use
    the code up. A wrong code is refused after its failure is committed (back-off, audit).
    """
    number = check_phone(phone)
    check_guardian_request(subject=subject, number=number)
    row, text = check_policy(purpose=purpose, version=version, sha256=sha256)
    _check_not_granted(latest_record_for(subject, row), row)
    record = None
    with transaction.atomic(durable=True):
        use = guardian_grant_use(subject=subject, purpose=row.code)
        attempt = _otp_check(number=number, code=code, use=use)
        guardian = attempt.user
        if guardian is not None and minor_declared_on(guardian) is not None:
            attempt.refusal = Forbidden(
                _("A parent or guardian must be 14 or older."), code="guardian_is_minor"
            )
        elif guardian is not None:
            lock_subject(subject.pk)
            _check_not_granted(latest_record_for(subject, row), row)
            record = _record_write(
                subject=subject,
                purpose=row,
                text=text,
                action=ConsentRecord.Action.GRANT,
                evidence=evidence,
                actor=guardian,
                guardian=guardian,
            )
    if attempt.refusal is not None:
        raise attempt.refusal
    assert record is not None  # a verified guardian and no refusal means a record
    return record


# --- publishing policies --------------------------------------------------------------------


def check_policy_texts(texts: dict[str, str]) -> None:
    """One non-empty text per language, each opening with a title line."""
    if not isinstance(texts, dict) or set(texts) != set(LANGUAGES):
        raise ApplicationError(
            _("Give the text in every language: %(languages)s.")
            % {"languages": ", ".join(LANGUAGES)},
            code="invalid_policy",
        )
    for language, text in texts.items():
        if not isinstance(text, str) or not text.strip() or not text.split("\n", 1)[0].strip():
            raise ApplicationError(
                _("The %(language)s text is empty or has no title line.") % {"language": language},
                code="invalid_policy",
            )
        if len(text) > _MAX_POLICY_TEXT or "\x00" in text:
            raise ApplicationError(
                _("The %(language)s text is too long or contains a NUL character.")
                % {"language": language},
                code="invalid_policy",
            )


def policy_publish(*, purpose: str, texts: dict[str, str], actor: User) -> PolicyVersion:
    """Publish the next version of a purpose's texts (DPO or superuser only).

    From the commit on, the gate refuses every grant of an older version as outdated until
    the subject consents to the new text. Published texts are never changed afterwards.
    """
    if not is_dpo(actor):
        raise Forbidden(_("Only the data protection officer can publish policies."), code="not_dpo")
    check_policy_texts(texts)
    purpose_by_code(purpose)  # unknown_purpose
    with transaction.atomic(durable=True):
        # Locked: two publishes of one purpose cannot both take the next version number.
        row = Purpose.objects.select_for_update().get(code=purpose)
        current = {}
        if row.current_version_id:
            current = dict(
                PolicyText.objects.filter(policy_id=row.current_version_id).values_list(
                    "language", "text"
                )
            )
        if current == texts:
            raise Conflict(
                _("These texts are the ones already published."), code="policy_unchanged"
            )
        return _policy_version_create(purpose=row, texts=texts, actor=actor)


def _policy_version_create(
    *, purpose: Purpose, texts: dict[str, str], actor: User
) -> PolicyVersion:
    latest = PolicyVersion.objects.filter(purpose=purpose).order_by("-version").first()
    policy = PolicyVersion.objects.create(
        purpose=purpose, version=(latest.version if latest else 0) + 1, published_at=timezone.now()
    )
    digests = {language: text_sha256(text) for language, text in texts.items()}
    PolicyText.objects.bulk_create(
        PolicyText(policy=policy, language=language, text=text, sha256=digests[language])
        for language, text in texts.items()
    )
    purpose.current_version = policy
    purpose.save(update_fields=["current_version"])
    audit_record(
        actor=actor,
        subject=None,
        action=AuditAction.POLICY_PUBLISHED,
        object_type="policy_version",
        object_id=str(policy.pk),
        purpose=purpose.code,
        data={"version": policy.version, "sha256": digests},
    )
    return policy


def ledger_erase(subject_id: int) -> int:
    """The inventory's erase for the ledger: the subject's records and declaration.
    Idempotent; the audit log keeps its pseudonymised events (DESIGN invariant 4)."""
    records = ConsentRecord.objects.filter(subject_id=subject_id).delete()[0]
    declarations = MinorDeclaration.objects.filter(subject_id=subject_id).delete()[0]
    return records + declarations
