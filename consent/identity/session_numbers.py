"""Numbers typed into the portal, held server-side between asking for a code and entering it.

A portal session keeps only the random id of a ``SessionNumber`` row, never a number: sessions
are opaque, compressed blobs that erasure could not search. The rows are found by a keyed
digest of the number (indexed), so erasing a person finds every half-finished sign-in with their
number, from any browser, and every child's session that asked them to act as guardian; a
child's own erasure takes the guardian numbers the child typed (``subject``).

A row lives as long as the code it was sent with (``OTP_SMS_CODE_VALIDITY``);
``session_numbers_prune`` (Celery beat) deletes expired rows and expired sessions.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from importlib import import_module

import phonenumbers
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.actions import AuditAction
from audit.services import audit_record
from consent.identity.models import SessionNumber, User
from consent.identity.selectors import phone_digest, subject_phone_digest

# The session key that holds a row's id, per kind.
_SESSION_KEYS = {
    SessionNumber.Kind.LOGIN: "consent.login.number_ref",
    SessionNumber.Kind.GUARDIAN: "consent.guardian.number_ref",
}


def session_number_hold(
    *,
    session: SessionBase,
    kind: SessionNumber.Kind,
    phone: str,
    subject: User | None = None,
    purpose: str = "",
) -> SessionNumber:
    """Hold ``phone`` (E.164, as the code services return it) for ``session``, replacing the
    number it held for ``kind`` before."""
    number = phonenumbers.parse(phone, None)
    expires_at = timezone.now() + timedelta(seconds=settings.OTP_SMS_CODE_VALIDITY)
    with transaction.atomic():
        _release_row(session, kind)
        held = SessionNumber.objects.create(
            kind=kind,
            phone_number=phone,
            phone_digest=phone_digest(number),
            subject=subject,
            purpose=purpose,
            expires_at=expires_at,
        )
    session[_SESSION_KEYS[kind]] = str(held.pk)
    return held


def session_number_for(
    *, session: SessionBase, kind: SessionNumber.Kind, subject: User | None = None
) -> SessionNumber | None:
    """The live number ``session`` holds for ``kind`` (and ``subject``), or None: never held,
    expired, or erased since (the session's id then points at nothing)."""
    ref = _ref(session, kind)
    if ref is None:
        return None
    rows = SessionNumber.objects.filter(pk=ref, kind=kind, expires_at__gt=timezone.now())
    if subject is not None:
        rows = rows.filter(subject=subject)
    return rows.first()


def session_number_release(*, session: SessionBase, kind: SessionNumber.Kind) -> None:
    """Forget the number ``session`` holds for ``kind`` (the sign-in or the grant is done)."""
    _release_row(session, kind)
    session.pop(_SESSION_KEYS[kind], None)


def _release_row(session: SessionBase, kind: SessionNumber.Kind) -> None:
    ref = _ref(session, kind)
    if ref is not None:
        SessionNumber.objects.filter(pk=ref).delete()


def _ref(session: SessionBase, kind: SessionNumber.Kind) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(session.get(_SESSION_KEYS[kind], "")))
    except ValueError:  # nothing held, or not one of ours
        return None


# --- retention ----------------------------------------------------------------------------------


def session_numbers_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Delete numbers whose code has expired and sessions past their expiry (Django never
    deletes them by itself)."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        counts = {
            "session_numbers": SessionNumber.objects.filter(expires_at__lte=now).delete()[0],
            "sessions": _expired_sessions_delete(now),
        }
        if any(counts.values()):
            audit_record(actor=None, subject=None, action=AuditAction.IDENTITY_PRUNED, data=counts)
    return counts


def _expired_sessions_delete(now: datetime) -> int:
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store, "get_model_class"):
        store.clear_expired()  # cookie sessions expire in the browser, cache ones by timeout
        return 0
    return store.get_model_class().objects.filter(expire_date__lte=now).delete()[0]


# --- the inventory store ------------------------------------------------------------------------


def _held_for(subject_id: int) -> QuerySet[SessionNumber]:
    """Rows holding the subject's number (any session, signed in or not), and the guardian
    numbers held for the subject as a child."""
    digest = subject_phone_digest(subject_id)  # also while an erasure that took the account runs
    mine = Q(subject_id=subject_id)
    if digest:
        mine |= Q(phone_digest=digest)
    return SessionNumber.objects.filter(mine)


def session_numbers_locate(subject_id: int) -> list[str]:
    return [f"session_number:{pk}" for pk in _held_for(subject_id).values_list("pk", flat=True)]


def session_numbers_export(subject_id: int) -> list[dict]:
    return [
        {"for": kind, "until": expires.isoformat()}
        for kind, expires in _held_for(subject_id).values_list("kind", "expires_at")
    ]


def session_numbers_erase(subject_id: int) -> int:
    return _held_for(subject_id).delete()[0]
