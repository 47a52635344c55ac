"""Identity: SMS sign-in codes, API tokens, portal sessions, staff accounts, pruning.

Every write is here, with its audit event in the same transaction (invariant "audited",
docs/ARCHITECTURE.md). Audit data never holds a phone number, an address or a code: numbers are
found again through keyed digests (``selectors.keyed_digest``), subjects through the audit log's
pseudonyms.

Events before a successful verification (codes sent, refused, failed, lock-outs) name no
subject: looking the account up would make known numbers measurably slower to answer than
unknown ones, an enumeration oracle. From the verification on, events name the subject.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import phonenumbers
from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_number_token
from phonenumbers import PhoneNumberType

from audit.actions import AuditAction
from audit.closing import ServiceClosing, wind_down_state
from audit.services import audit_record
from compliance_site import staff_roles
from compliance_site.client_address import ip_limit_key
from compliance_site.errors import (
    ApplicationError,
    Conflict,
    Forbidden,
    RateLimited,
    ServiceUnavailable,
)
from consent.identity.models import (
    CODE_FIELDS,
    ApiToken,
    CodeAttempts,
    ErasedNumber,
    SendWindow,
    SmsDevice,
    User,
)
from consent.identity.selectors import (
    e164,
    keyed_digest,
    phone_digest,
    prefix_limit_key,
    token_digest,
    user_for_number,
)
from consent.identity.sms import SmsDeliveryError, send_sms

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

# --- phone numbers ----------------------------------------------------------------------------


def check_phone(raw: str, region: str | None = None) -> phonenumbers.PhoneNumber:
    """Parse a number that can receive our SMS, or raise ``invalid_phone``.

    International input (+ and the country code) is read as such whatever ``region`` says;
    national input (``13800138000``, ``07400 123456``) needs ``region``, the ISO 3166 code of
    its country (``check_region``). Refused: unparseable or invalid numbers, extensions,
    numbers in ``OTP_BLOCKED_COUNTRY_CODES``, and every type but mobile (premium-rate,
    shared-cost, toll-free, fixed-line, VOIP, pager, ...; see ``_SMS_CAPABLE_TYPES``).
    Everything keyed on a number uses its E.164 form (``selectors.e164``), so both spellings
    are one person.
    """
    if region is not None:
        region = check_region(region)
    try:
        number = phonenumbers.parse(raw, region)
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


def check_region(region: str) -> str:
    """The region a national number is read in: an ISO 3166 alpha-2 code with a numbering
    plan (either case), returned in capitals; anything else raises ``invalid_region``."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ApplicationError(
            _("Unknown country for the phone number: use a two-letter ISO 3166 code, like GB."),
            code="invalid_region",
        )
    return code


def _invalid_phone(detail: str) -> ApplicationError:
    return ApplicationError(detail, code="invalid_phone")


# --- sending codes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeUse:
    """What a one-time code is sent for. It is stored with the code as a keyed digest
    (``SmsDevice.binding``) and the code passes only where it is used for exactly that:
    a guardian's code cannot sign the guardian in, a sign-in code cannot grant for a child,
    and a guardian's code grants exactly the set of purposes it was asked for, for the child
    who asked: not a subset, not a superset (invariant "bound-codes", docs/ARCHITECTURE.md).
    Build a guardian's use with ``CodeUse.guardian_grant``."""

    action: str
    subject_id: int | None = None
    # Sorted and unique (``guardian_grant`` makes them so): the set is what is bound.
    purposes: tuple[str, ...] = ()
    # What the text message calls the purposes (their titles in the reader's language); not
    # part of what the code is bound to.
    purpose_titles: tuple[str, ...] = field(default=(), compare=False)

    SIGN_IN = "sign_in"
    GUARDIAN_GRANT = "guardian_grant"
    ACCOUNT_ERASE = "account_erase"

    @classmethod
    def guardian_grant(
        cls, *, subject_id: int, purposes: Sequence[str], titles: Sequence[str] = ()
    ) -> CodeUse:
        return cls(
            cls.GUARDIAN_GRANT,
            subject_id=subject_id,
            purposes=tuple(sorted(set(purposes))),
            purpose_titles=tuple(titles),
        )

    @classmethod
    def account_erase(cls, *, subject_id: int) -> CodeUse:
        """A fresh code that erases this subject's account, and nothing else."""
        return cls(cls.ACCOUNT_ERASE, subject_id=subject_id)

    def digest(self) -> str:
        # One purpose digests as it did when a code was bound to a single purpose.
        bound = ",".join(sorted(set(self.purposes)))
        return keyed_digest("code-use", f"{self.action}:{self.subject_id or ''}:{bound}")


SIGN_IN = CodeUse(CodeUse.SIGN_IN)


@dataclass(frozen=True)
class _Limit:
    scope: str
    key: str
    limit: int
    window: int  # seconds
    phone_digest: str = ""  # for the number's scopes: erasure finds the row by it


def otp_request(
    *, phone: str, client_ip: str, use: CodeUse = SIGN_IN, region: str | None = None
) -> str:
    """Send a one-time code to ``phone`` (national input read in ``region``) for ``use``
    (signing in unless said otherwise); returns the number in E.164. The code is stored bound
    to ``use``, and the text message says what it is for.

    The answer, and the work done, are the same whether or not the number has an account (no
    enumeration): the account is not even looked up, so these events name no subject. The
    order of side effects matters:
    1. count the send against the limits per number and client network, per number, per
       address and per prefix, and commit, so concurrent requests in other processes see it
       (refusals are audited, not counted);
    2. send outside any transaction, so no lock is held while the gateway answers;
    3. only once the gateway took the message, store the code's HMAC on the device and lift
       the asking network's back-off and lock-out for the number. A failed send therefore
       leaves the previous code usable and is NOT counted against any limit (its claim is
       released): the user did not get a code and may simply retry.
    """
    number = check_phone(phone, region)
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
        _attempts_lift(number=number, client_ip=client_ip)
        data = {"valid_seconds": settings.OTP_SMS_CODE_VALIDITY}
        _record(AuditAction.OTP_REQUESTED, subject=None, data=data)
    return to


def _sender() -> str:
    return settings.SMS_SENDER_NAME


def _code_message(code: str, use: CodeUse) -> str:
    values = {"name": _sender(), "code": code}
    if use.action == CodeUse.GUARDIAN_GRANT:
        # Between two quoted titles; in Chinese an enumeration comma.
        values["purpose"] = _("”, “").join(use.purpose_titles or use.purposes)
        return (
            _(
                "%(name)s: %(code)s is your code to give consent on behalf of your child to "
                "“%(purpose)s”. Enter it only if you agree."
            )
            % values
        )
    if use.action == CodeUse.ACCOUNT_ERASE:
        return (
            _(
                "%(name)s: %(code)s is your code to erase your account and all its data. "
                "Enter it only if you want that. Do not share it."
            )
            % values
        )
    return _("%(name)s: %(code)s is your code to sign in. Do not share it.") % values


def _send_limits(number: phonenumbers.PhoneNumber, client_ip: str) -> list[_Limit]:
    """Per number and client network (so one network cannot use up another's codes), per
    number from all networks (a higher cap), per address, per prefix (SMS pumping)."""
    # Always this order: rows are locked in it, so concurrent requests cannot deadlock.
    digest = phone_digest(number)
    return [
        _Limit(
            SendWindow.Scope.NUMBER,
            keyed_digest("number-network", f"{digest}:{_network(client_ip)}"),
            settings.OTP_SEND_LIMIT_PER_NUMBER,
            settings.OTP_SEND_WINDOW_PER_NUMBER,
            phone_digest=digest,
        ),
        _Limit(
            SendWindow.Scope.NUMBER_TOTAL,
            digest,
            settings.OTP_SEND_LIMIT_PER_NUMBER_TOTAL,
            settings.OTP_SEND_WINDOW_PER_NUMBER_TOTAL,
            phone_digest=digest,
        ),
        _Limit(
            SendWindow.Scope.IP,
            _network(client_ip),
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


def _network(client_ip: str) -> str:
    """The keyed digest of the client's network (``ip_limit_key``) as the send limits count it."""
    return keyed_digest("ip", ip_limit_key(client_ip))


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
    defaults = {"expires_at": timezone.now(), "phone_digest": limit.phone_digest}
    row, _created = SendWindow.objects.select_for_update().get_or_create(
        scope=limit.scope, key=limit.key, defaults=defaults
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
    if seconds >= 2 * 3600:  # the daily caps
        hours = math.ceil(seconds / 3600)
        wait = ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    elif seconds >= 120:
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
    verified: bool = False


def token_login(*, phone: str, code: str, client_ip: str, region: str | None = None) -> str:
    """Check the code entered from ``client_ip`` for ``phone`` (national input read in
    ``region``); on success create the account if new and return a new API token key.

    A refusal is raised only after the transaction committed, so the failed attempt (back-off
    counters and audit event) is kept.
    """
    number = check_phone(phone, region)
    key = ""
    with transaction.atomic(durable=True):
        attempt = otp_check(number=number, code=code, use=SIGN_IN, client_ip=client_ip)
        if attempt.user is not None:
            key = _api_token_issue(user=attempt.user)
            _record(AuditAction.LOGIN, actor=attempt.user, subject=attempt.user, data=_API)
    if attempt.refusal is not None:
        raise attempt.refusal
    return key


def session_login(*, request: HttpRequest, phone: str, code: str, client_ip: str) -> User:
    """As ``token_login``, for the portal: log the user into ``request``'s session, which
    ``django.contrib.auth.login`` rotates (no session fixation)."""
    number = check_phone(phone)
    with transaction.atomic(durable=True):
        attempt = otp_check(number=number, code=code, use=SIGN_IN, client_ip=client_ip)
        if attempt.user is not None:
            auth_login(request, attempt.user, backend=_SESSION_BACKEND)
            _record(AuditAction.LOGIN, actor=attempt.user, subject=attempt.user, data=_PORTAL)
    if attempt.refusal is not None:
        raise attempt.refusal
    assert attempt.user is not None  # no refusal means a user
    return attempt.user


def account_erase_code_check(*, subject: User, code: str, client_ip: str) -> None:
    """Check a code sent for erasing ``subject``'s account (``CodeUse.account_erase``), under
    the same back-off and lock-out as signing in; the refusal is raised after the failed
    attempt is committed. A sign-in code, or one sent for someone else, fails as wrong."""
    number = check_phone(str(subject.phone_number))
    use = CodeUse.account_erase(subject_id=subject.pk)
    with transaction.atomic(durable=True):
        attempt = otp_check(number=number, code=code, use=use, client_ip=client_ip, account=False)
    if attempt.refusal is not None:
        raise attempt.refusal
    if attempt.user is None or attempt.user.pk != subject.pk:
        raise _invalid_code()


_API = {"channel": "api"}
_PORTAL = {"channel": "portal"}


def otp_check(
    *,
    number: phonenumbers.PhoneNumber,
    code: str,
    use: CodeUse,
    client_ip: str,
    account: bool = True,
) -> _Attempt:
    """Verify ``code`` for ``use``, entered from ``client_ip``, under row locks; record the
    outcome. Runs in the caller's transaction. A right code sent for another use fails as a
    wrong code (``other_use``). With ``account=False`` (a guardian proving their number) a
    right code creates no account: the attempt is ``verified`` and its ``user`` is the
    number's own account only if its owner signed in themselves before.

    Back-off, lock-out and the daily caps count the number's wrong codes per client network
    (``CodeAttempts``): an attacker's wrong codes lock out the attacker's network, not the
    owner's. Only the number's daily cap over all networks is shared; it bounds guessing."""
    device = _device_locked(number)
    mine, every = _attempts_locked(number, client_ip)
    now = timezone.now()
    refusal = _attempts_refusal(mine, every, now)
    if refusal is not None:
        return _Attempt(refusal=refusal)
    reason = _failure_reason(device, code=code)
    if not device.verify_token(code, binding=use.digest()):
        _attempts_failed(mine, every, now)
        data = {"reason": reason, "failures": mine.failures}
        _record(AuditAction.OTP_FAILED, subject=None, data=data)
        if mine.failures >= settings.OTP_SMS_MAX_FAILURES:
            _record(AuditAction.OTP_LOCKED_OUT, subject=None, data={"failures": mine.failures})
            return _Attempt(refusal=_locked_out())
        return _Attempt(refusal=_invalid_code())
    mine.failures, mine.last_failure = 0, None
    mine.save(update_fields=["failures", "last_failure"])
    if not account:
        _record(AuditAction.OTP_VERIFIED, subject=None, data={"use": use.action})
        return _Attempt(user=user_for_number(number), verified=True)
    return _subject_verified(device, number)


def _device_locked(number: phonenumbers.PhoneNumber) -> SmsDevice:
    """The number's device, made if missing, locked (FOR UPDATE: two requests with the same
    code cannot both use it, and attempts on one number are counted one at a time). Every
    number, with an account, a code or neither, gets the same row and the same statements."""
    digest = phone_digest(number)
    SmsDevice.objects.bulk_create(
        [SmsDevice(phone_digest=digest, name="SMS")], ignore_conflicts=True
    )
    return SmsDevice.objects.select_for_update().get(phone_digest=digest)


def _attempts_locked(
    number: phonenumbers.PhoneNumber, client_ip: str
) -> tuple[CodeAttempts, CodeAttempts]:
    """The number's attempt rows from this network and from all networks, made if missing,
    locked. Made for every number alike; they never point at an account (no oracle)."""
    digest, network = phone_digest(number), _attempts_network(client_ip)
    now = timezone.now()
    CodeAttempts.objects.bulk_create(
        [CodeAttempts(phone_digest=digest, network=key, expires_at=now) for key in (network, "")],
        ignore_conflicts=True,
    )
    rows = CodeAttempts.objects.select_for_update().filter(phone_digest=digest)
    by_network = {row.network: row for row in rows.filter(network__in=[network, ""])}
    return by_network[network], by_network[""]


def _attempts_refusal(
    mine: CodeAttempts, every: CodeAttempts, now: datetime
) -> ApplicationError | None:
    """Why this network may not try a code now, audited; None if it may. In memory, the
    failures this network made are forgotten once a code's validity passed since the last,
    and wrong codes older than the daily window leave it (saved with the next failure)."""
    if mine.last_failure and now - mine.last_failure >= _seconds(settings.OTP_SMS_CODE_VALIDITY):
        mine.failures, mine.last_failure = 0, None
    stamp, window = _millis(now), settings.OTP_FAILURE_WINDOW * 1000
    for row in (mine, every):
        row.hits = [hit for hit in row.hits if hit > stamp - window]
    caps = (
        (mine, settings.OTP_FAILURES_PER_NUMBER_NETWORK),
        (every, settings.OTP_FAILURES_PER_NUMBER),
    )
    frees = [row.hits[-cap] + window for row, cap in caps if len(row.hits) >= cap]
    if frees:
        return _refused("daily_limit", _rate_limited(math.ceil((max(frees) - stamp) / 1000)))
    if mine.failures >= settings.OTP_SMS_MAX_FAILURES:
        return _refused("locked_out", _locked_out())
    if mine.failures and settings.OTP_SMS_THROTTLE_FACTOR:
        # A failure is always counted together with its moment (and both are reset together).
        assert mine.last_failure is not None
        delay = settings.OTP_SMS_THROTTLE_FACTOR * 2 ** (mine.failures - 1)
        wait = (mine.last_failure + _seconds(delay) - now).total_seconds()
        if wait > 0:
            return _refused("backing_off", _rate_limited(math.ceil(wait)))
    return None


def _refused(reason: str, error: ApplicationError) -> ApplicationError:
    _record(AuditAction.OTP_FAILED, subject=None, data={"reason": reason})
    return error


def _attempts_failed(mine: CodeAttempts, every: CodeAttempts, now: datetime) -> None:
    """Count a wrong code for this network (back-off, lock-out, its daily cap) and for the
    number from all networks (the daily cap that bounds guessing)."""
    stamp = _millis(now)
    mine.failures += 1
    mine.last_failure = now
    held = max(settings.OTP_FAILURE_WINDOW, settings.OTP_SMS_CODE_VALIDITY)
    for row in (mine, every):
        row.hits.append(stamp)
        row.expires_at = now + _seconds(held)
        row.save(update_fields=["failures", "last_failure", "hits", "expires_at"])


def _attempts_lift(*, number: phonenumbers.PhoneNumber, client_ip: str) -> None:
    """A new code asked from a network lifts that network's back-off and lock-out for the
    number (not its daily count, and not other networks': each asks for its own). One
    statement for every number, whether it has a row or not."""
    CodeAttempts.objects.filter(
        phone_digest=phone_digest(number), network=_attempts_network(client_ip)
    ).update(failures=0, last_failure=None)


def _attempts_network(client_ip: str) -> str:
    # A key of its own, so the column cannot be matched with the send windows' address keys.
    return keyed_digest("attempts-network", ip_limit_key(client_ip))


def _seconds(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def _rate_limited(wait: int) -> RateLimited:
    return RateLimited(_too_many(wait), retry_after=wait)


def _failure_reason(device: SmsDevice, *, code: str) -> str:
    if not device.token:
        return "no_code"
    if device.valid_until <= timezone.now():
        return "expired"
    if device.code_matches(code):
        return "other_use"
    return "wrong_code"


def _subject_verified(device: SmsDevice, number: phonenumbers.PhoneNumber) -> _Attempt:
    """The code was right: the account exists from now on (created at first verification)."""
    user = device.user or user_for_number(number)
    # Closing mode: no new accounts. Only the number's owner (who has the code) learns it.
    # mutant: negate — tests/erasure/test_wind_down.py
    #   test_closing_mode_refuses_sign_up_captures_and_swaps_and_shows_a_banner
    if user is None and wind_down_state() is not None:
        _record(AuditAction.OTP_FAILED, subject=None, data={"reason": "service_closing"})
        closing = ServiceClosing(_("This service is closing: it accepts no new accounts."))
        return _Attempt(refusal=closing)
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
    return _Attempt(user=user, verified=True)


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
    unknown = staff_roles.unknown(roles)
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
    for dotted in staff_roles.permissions(role):
        app_label, codename = dotted.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(wanted))


def staff_roles_sync() -> None:
    """Make each role's group hold exactly the role's permissions (idempotent). Run after
    every migrate, so a permission added to a role, or by an app, reaches the groups."""
    with transaction.atomic():
        for role in staff_roles.ROLES:
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
    """Audit a staff member opening a person's record (invariant "audited", docs/ARCHITECTURE.md).
    The event names the person by pseudonym only: an account id beside it would be the pseudonym's
    mapping."""
    with transaction.atomic(savepoint=False):
        _record(AuditAction.STAFF_VIEWED_SUBJECT, actor=staff, subject=subject)


def staff_list_narrowed_record(
    *, staff: User, list_label: str, filters: list[str], results: int
) -> None:
    """Audit a filter or search narrowing an admin list of people: the list, the filters used
    (never their values) and how many rows matched. Runs in the page's transaction."""
    data = {"list": list_label, "filters": filters, "results": results}
    with transaction.atomic(savepoint=False):
        _record(AuditAction.STAFF_SEARCHED_SUBJECTS, actor=staff, subject=None, data=data)


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


# --- erasure ------------------------------------------------------------------------------------


def erased_number_forget(*, subject_id: int) -> None:
    """Drop the digest of an erased account's number (``ErasedNumber``). Called by the
    erasure's completion, in the transaction that proves no store holds anything: the stores
    found the number's rows by it until then; the audited completion covers it."""
    ErasedNumber.objects.filter(subject_ref=subject_id).delete()


# --- retention ----------------------------------------------------------------------------------


def identity_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Delete what has no purpose left: devices of numbers that never signed in once their
    code expired (deleting one then changes no answer: a new one starts the same), send
    windows with no hit left inside them, attempt counts whose failures are forgotten and out
    of the daily window (for every number alike), expired API tokens."""
    now = now or timezone.now()
    devices = SmsDevice.objects.filter(user=None, valid_until__lt=now)
    with transaction.atomic(durable=True):
        counts = {
            "devices": devices.delete()[0],
            "send_windows": SendWindow.objects.filter(expires_at__lt=now).delete()[0],
            "code_attempts": CodeAttempts.objects.filter(expires_at__lt=now).delete()[0],
            "api_tokens": ApiToken.objects.filter(expires_at__lt=now).delete()[0],
        }
        if any(counts.values()):
            _record(AuditAction.IDENTITY_PRUNED, subject=None, data=counts)
    return counts


def _record(action: AuditAction, *, subject: User | None, actor: User | None = None, **kw) -> None:
    audit_record(actor=actor, subject=subject, action=action, **kw)
