"""Identity's stores of personal data: the account row, sessions, tokens, sign-in codes, send
limits, code attempts, numbers held between sign-in steps, and two places checked for leftovers
(task results, upload temp files). Declared here, next to the data; ``consent/stores.py`` hands
every sub-domain's ``STORES`` to the inventory (the contract: ``compliance_site.inventory``).

Each store locates references (never the data), exports JSON-safe copies for access requests
and erases idempotently, keyed by the subject id alone, so erasure can resume after the account
row is gone. Stores that find rows by the phone number (devices, send windows, code attempts,
session numbers) are in band ``SIGN_IN``, before the account row (``ACCOUNT``); once it is
gone they find them by the number's digest the erasure keeps until it completes
(``ErasedNumber``), so rows made meanwhile under the number are still found by its last check.

Not stores, and why: the cache holds nothing personal (sign-in limits are rows, keyed by
digests; sessions live in the database and hold no number: ``session_numbers``); prefix and
address send windows count sends per number range or network, not per person, and expire
within the hour.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from importlib import import_module
from pathlib import Path

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django.utils.translation import gettext_noop

from compliance_site import inventory
from consent.identity.models import (
    ApiToken,
    CodeAttempts,
    ErasedNumber,
    SendWindow,
    SmsDevice,
    User,
)
from consent.identity.selectors import subject_phone_digest
from consent.identity.session_numbers import (
    session_numbers_erase,
    session_numbers_export,
    session_numbers_locate,
)

# An upload temp file older than this belongs to no running request: a leftover.
UPLOAD_LEFTOVER_SECONDS = 600
ERASED_BY_ERASURE = gettext_noop("As long as the account exists; erased with it")


# --- the account row ----------------------------------------------------------------------------


def subject_locate(subject_id: int) -> list[str]:
    return [f"user:{subject_id}"] if User.objects.filter(pk=subject_id).exists() else []


def subject_export(subject_id: int) -> dict | None:
    user = User.objects.filter(pk=subject_id).first()
    if user is None:
        return None
    return {
        "phone_number": str(user.phone_number),
        "date_joined": user.date_joined.isoformat(),
        "last_login": user.last_login.isoformat() if user.last_login else None,
        "is_active": user.is_active,
    }


def subject_erase(subject_id: int) -> int:
    """The account row and with it the phone number (and, by cascade, staff TOTP devices and
    group memberships). Refused by the database while biometric rows still point at it. The
    number's keyed digest stays, in the same transaction, for the stores that find rows by
    the number, until the erasure completes (``ErasedNumber``)."""
    with transaction.atomic(savepoint=False):
        digest = subject_phone_digest(subject_id)
        _total, per_model = User.objects.filter(pk=subject_id).delete()
        erased = per_model.get(User._meta.label, 0)
        if erased and digest:
            ErasedNumber.objects.update_or_create(
                subject_ref=subject_id, defaults={"phone_digest": digest}
            )
    return erased


# --- sessions and tokens ------------------------------------------------------------------------


def _session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def _session_keys(subject_id: int) -> list[str]:
    """Keys of stored sessions signed in as the subject. Every session is decoded: sessions
    are not indexed by user (a full scan, acceptable at erasure's frequency)."""
    store = _session_store()
    if not hasattr(store, "get_model_class"):  # cookie or cache sessions cannot be listed
        return []
    keys = []
    rows = store.get_model_class().objects.values_list("session_key", "session_data")
    for key, data in rows.iterator():
        if str(store().decode(data).get(SESSION_KEY)) == str(subject_id):
            keys.append(key)
    return keys


def sessions_locate(subject_id: int) -> list[str]:
    # A session key is a credential: refer to it by a digest.
    return [
        f"session:{hashlib.sha256(k.encode()).hexdigest()[:16]}" for k in _session_keys(subject_id)
    ]


def sessions_export(subject_id: int) -> dict:
    return {"signed_in_sessions": len(_session_keys(subject_id))}


def sessions_erase(subject_id: int) -> int:
    keys = _session_keys(subject_id)
    store = _session_store()
    for key in keys:
        store(session_key=key).delete()
    return len(keys)


def api_tokens_locate(subject_id: int) -> list[str]:
    ids = ApiToken.objects.filter(user_id=subject_id).values_list("pk", flat=True)
    return [f"api_token:{pk}" for pk in ids]


def api_tokens_export(subject_id: int) -> list[dict]:
    return [
        {"created_at": created.isoformat(), "expires_at": expires.isoformat()}
        for created, expires in ApiToken.objects.filter(user_id=subject_id).values_list(
            "created_at", "expires_at"
        )
    ]


def api_tokens_erase(subject_id: int) -> int:
    return ApiToken.objects.filter(user_id=subject_id).delete()[0]


# --- sign-in codes and send limits --------------------------------------------------------------


def _devices(subject_id: int):
    """The subject's SMS devices: linked to the account, or keyed by their number's digest
    (a code requested again after the account was made)."""
    digest = subject_phone_digest(subject_id)
    devices = SmsDevice.objects.filter(user_id=subject_id)
    if digest:
        devices = devices | SmsDevice.objects.filter(phone_digest=digest)
    return devices


def sms_devices_locate(subject_id: int) -> list[str]:
    return [f"sms_device:{pk}" for pk in _devices(subject_id).values_list("pk", flat=True)]


def sms_devices_export(subject_id: int) -> list[dict]:
    return [
        {"code_valid_until": until.isoformat() if until else None, "failed_attempts": failures}
        for until, failures in _devices(subject_id).values_list(
            "valid_until", "throttling_failure_count"
        )
    ]


def sms_devices_erase(subject_id: int) -> int:
    ids = list(_devices(subject_id).values_list("pk", flat=True))
    return SmsDevice.objects.filter(pk__in=ids).delete()[0]


def _windows(subject_id: int):
    """The number's send windows: per client network and from all networks."""
    digest = subject_phone_digest(subject_id)
    if not digest:
        return SendWindow.objects.none()
    return SendWindow.objects.filter(phone_digest=digest)


def send_windows_locate(subject_id: int) -> list[str]:
    return [f"send_window:{pk}" for pk in _windows(subject_id).values_list("pk", flat=True)]


def send_windows_export(subject_id: int) -> list[dict]:
    return [
        {"codes_sent_recently": len(hits), "until": expires.isoformat()}
        for hits, expires in _windows(subject_id).values_list("hits", "expires_at")
    ]


def send_windows_erase(subject_id: int) -> int:
    return _windows(subject_id).delete()[0]


def _attempts(subject_id: int):
    """Wrong codes counted for the number, per client network and from all networks."""
    digest = subject_phone_digest(subject_id)
    if not digest:
        return CodeAttempts.objects.none()
    return CodeAttempts.objects.filter(phone_digest=digest)


def code_attempts_locate(subject_id: int) -> list[str]:
    return [f"code_attempts:{pk}" for pk in _attempts(subject_id).values_list("pk", flat=True)]


def code_attempts_export(subject_id: int) -> list[dict]:
    # The network is a keyed digest: it tells the person nothing, so it is not exported.
    return [
        {"from_one_network": bool(network), "wrong_codes_recently": len(hits)}
        for network, hits in _attempts(subject_id).values_list("network", "hits")
    ]


def code_attempts_erase(subject_id: int) -> int:
    return _attempts(subject_id).delete()[0]


# --- places that hold nothing, checked ----------------------------------------------------------


def celery_results_locate(subject_id: int) -> list[str]:
    """Nothing, as long as the settings keep no task results. If someone configures a result
    backend, say so (which makes every erasure fail its proof) rather than certify blindly."""
    if getattr(settings, "CELERY_TASK_IGNORE_RESULT", False) and not getattr(
        settings, "CELERY_RESULT_BACKEND", None
    ):
        return []
    return ["celery_results:a result backend is configured; results cannot be located"]


def celery_results_export(subject_id: int) -> None:
    return None


def celery_results_erase(subject_id: int) -> int:
    return 0


def upload_dir() -> Path:
    return Path(settings.FILE_UPLOAD_TEMP_DIR or tempfile.gettempdir())


def upload_leftovers() -> list[Path]:
    """Django's upload temp files (``tmp….upload…``) that no running request holds. Which
    person one belongs to cannot be told, so every erasure treats them as possibly theirs."""
    folder, cutoff = upload_dir(), time.time() - UPLOAD_LEFTOVER_SECONDS
    try:
        candidates = list(folder.glob("tmp*.upload*"))
    except OSError:
        return []
    return [path for path in candidates if path.is_file() and path.stat().st_mtime < cutoff]


def upload_temp_files_locate(subject_id: int) -> list[str]:
    return [f"upload_temp_file:{path.name}" for path in upload_leftovers()]


def upload_temp_files_export(subject_id: int) -> None:
    return None


def upload_temp_files_erase(subject_id: int) -> int:
    erased = 0
    for path in upload_leftovers():
        path.unlink(missing_ok=True)
        erased += 1
    return erased


STORES = (
    inventory.Store(
        name="consent.sessions",
        what=gettext_noop("Signed-in portal sessions"),
        why=gettext_noop("Keeping you signed in to the portal"),
        retention=gettext_noop("Until you sign out, or 12 hours"),
        legal_basis=gettext_noop("Performance of the service you asked for"),
        locate=sessions_locate,
        export=sessions_export,
        erase=sessions_erase,
        band=inventory.Band.SIGN_IN,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.USERS, inventory.Subjects.STAFF),
        security=(*inventory.BASELINE_SECURITY,),
    ),
    inventory.Store(
        name="consent.session_numbers",
        what=gettext_noop(
            "Your mobile number while you sign in to the portal (from any browser, finished or "
            "not), and the parent's or guardian's number a child asked a code for"
        ),
        why=gettext_noop("Checking the code we texted to that number"),
        retention=gettext_noop("Until the code is used, or it expires (5 minutes by default)"),
        legal_basis=gettext_noop("Performance of the service you asked for"),
        locate=session_numbers_locate,
        export=session_numbers_export,
        erase=session_numbers_erase,
        band=inventory.Band.SIGN_IN,
        recipients=(inventory.HOSTING, inventory.SMS_GATEWAY),
        transfers=(),
        subjects=(inventory.Subjects.APPLICANTS, inventory.Subjects.GUARDIANS),
        security=(*inventory.BASELINE_SECURITY, inventory.Security.SHORT_LIVED),
    ),
    inventory.Store(
        name="consent.api_tokens",
        what=gettext_noop(
            "App sign-in tokens (only a fingerprint of each is kept, never the token)"
        ),
        why=gettext_noop("Keeping you signed in to the app"),
        retention=gettext_noop("Until you sign out, or 30 days"),
        legal_basis=gettext_noop("Performance of the service you asked for"),
        locate=api_tokens_locate,
        export=api_tokens_export,
        erase=api_tokens_erase,
        band=inventory.Band.SIGN_IN,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.USERS,),
        security=(*inventory.BASELINE_SECURITY, inventory.Security.DIGESTS),
    ),
    inventory.Store(
        name="consent.sms_devices",
        what=gettext_noop(
            "Your sign-in code device: a keyed digest of your number, a digest of the current "
            "code, failed attempts"
        ),
        why=gettext_noop("Signing you in with a text message code"),
        retention=gettext_noop(
            "As long as the account exists; for numbers that never signed in, until the "
            "code expires (5 minutes)"
        ),
        legal_basis=gettext_noop("Performance of the service you asked for"),
        locate=sms_devices_locate,
        export=sms_devices_export,
        erase=sms_devices_erase,
        band=inventory.Band.SIGN_IN,
        recipients=(inventory.HOSTING, inventory.SMS_GATEWAY),
        transfers=(),
        subjects=(inventory.Subjects.APPLICANTS, inventory.Subjects.GUARDIANS),
        security=(*inventory.BASELINE_SECURITY, inventory.Security.DIGESTS),
    ),
    inventory.Store(
        name="consent.send_windows",
        what=gettext_noop(
            "When codes were sent to your number, per network asking and in total (keyed by "
            "digests)"
        ),
        why=gettext_noop("Limiting how many codes are sent, against abuse"),
        retention=gettext_noop("At most 1 hour after the last code"),
        legal_basis=gettext_noop("Legitimate interest in preventing fraud"),
        locate=send_windows_locate,
        export=send_windows_export,
        erase=send_windows_erase,
        band=inventory.Band.SIGN_IN,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.APPLICANTS, inventory.Subjects.GUARDIANS),
        security=(
            *inventory.BASELINE_SECURITY,
            inventory.Security.DIGESTS,
            inventory.Security.SHORT_LIVED,
        ),
    ),
    inventory.Store(
        name="consent.code_attempts",
        what=gettext_noop(
            "Wrong sign-in codes entered for your number, counted per network (a keyed digest "
            "of the network) and in total, keyed by a digest of your number"
        ),
        why=gettext_noop(
            "Slowing down and stopping code guessing without locking you out from your own network"
        ),
        retention=gettext_noop("At most 24 hours after the last wrong code"),
        legal_basis=gettext_noop("Legitimate interest in preventing fraud"),
        locate=code_attempts_locate,
        export=code_attempts_export,
        erase=code_attempts_erase,
        band=inventory.Band.SIGN_IN,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.APPLICANTS, inventory.Subjects.GUARDIANS),
        security=(
            *inventory.BASELINE_SECURITY,
            inventory.Security.DIGESTS,
            inventory.Security.SHORT_LIVED,
        ),
    ),
    inventory.Store(
        name="consent.celery_results",
        what=gettext_noop("Results of background jobs: none are kept"),
        why=gettext_noop("Background jobs record their outcome in their own rows"),
        retention=gettext_noop("Not kept"),
        legal_basis=gettext_noop("Not applicable"),
        locate=celery_results_locate,
        export=celery_results_export,
        erase=celery_results_erase,
        band=inventory.Band.SIGN_IN,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.USERS,),
        security=(*inventory.BASELINE_SECURITY, inventory.Security.SHORT_LIVED),
    ),
    inventory.Store(
        name="consent.upload_temp_files",
        what=gettext_noop(
            "Temporary upload files: none should exist (photos and videos are read in memory); "
            "checked for leftovers"
        ),
        why=gettext_noop("Receiving uploads"),
        retention=gettext_noop("Never kept past the request"),
        legal_basis=gettext_noop("Not applicable"),
        locate=upload_temp_files_locate,
        export=upload_temp_files_export,
        erase=upload_temp_files_erase,
        band=inventory.Band.SIGN_IN,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.USERS,),
        security=(*inventory.BASELINE_SECURITY, inventory.Security.IN_MEMORY),
    ),
    inventory.Store(
        name="consent.subject",
        what=gettext_noop("Your account: your mobile number and when you joined"),
        why=gettext_noop("Identifying you when you sign in (your number is your only identity)"),
        retention=ERASED_BY_ERASURE,
        legal_basis=gettext_noop("Performance of the service you asked for"),
        locate=subject_locate,
        export=subject_export,
        erase=subject_erase,
        band=inventory.Band.ACCOUNT,
        recipients=(inventory.HOSTING, inventory.SMS_GATEWAY),
        transfers=(),
        subjects=(inventory.Subjects.USERS, inventory.Subjects.CHILDREN, inventory.Subjects.STAFF),
        security=(*inventory.BASELINE_SECURITY,),
    ),
)
