"""The consent gate (invariant "gate", docs/ARCHITECTURE.md): call it before every capture, use and
deletion.

    require_consent(subject=user, purpose="biometric_enrolment")

It passes only when the subject's latest record for the purpose is a grant of the purpose's
current policy version, and raises ``ConsentRequired`` otherwise (API: 403
``{"code": "consent_required" | "consent_outdated", "purpose": ...}``). Celery tasks call it
again when they run, so work queued before a withdrawal is refused, not done.

It is on every hot path, so it is one indexed query: the subject's latest record for the
purpose (index ``consent_record_latest``), joined to the purpose row for its current version,
in SQL prepared once (see ``_latest_sql``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from compliance_site.errors import Forbidden
from consent.identity.models import User
from consent.ledger.models import ConsentRecord, Purpose


class ConsentRequired(Forbidden):
    """No current consent: never given, withdrawn, or given to an older policy version."""

    code = "consent_required"

    def __init__(self, purpose: str, *, detail: str | None = None, code: str | None = None):
        detail = detail or _("This needs your consent for “%(purpose)s”.") % {"purpose": purpose}
        super().__init__(detail, code=code, extra={"purpose": purpose})
        self.purpose = purpose


class ConsentOutdated(ConsentRequired):
    """Consent was given to a policy version that has since been replaced."""

    code = "consent_outdated"

    def __init__(self, purpose: str):
        detail = _(
            "The policy for “%(purpose)s” changed since you consented. Please read it and "
            "consent again."
        ) % {"purpose": purpose}
        super().__init__(purpose, detail=detail)


def require_consent(*, subject: Any, purpose: str, lock: bool = False) -> None:
    """Raise ``ConsentRequired`` unless ``subject`` (a user or a user id) holds a current
    grant for ``purpose``.

    ``lock=True`` (inside ``transaction.atomic``) also locks the subject's row, the lock every
    grant and withdrawal takes: a writer that checks with it and then stores data cannot
    interleave with a withdrawal, which would otherwise erase first and let the write land after.
    """
    subject_id = getattr(subject, "pk", subject)
    if lock:
        lock_subject(subject_id)
    with connection.cursor() as cursor:
        cursor.execute(_latest_sql(), [subject_id, purpose])
        latest = cursor.fetchone()
    # mutant: negate — tests/consent/ledger/test_gate.py
    #   test_the_gate_refuses_a_subject_who_never_consented
    if latest is None or latest[0] != ConsentRecord.Action.GRANT:
        if latest is None and not Purpose.objects.filter(code=purpose).exists():
            raise ValueError(f"unknown consent purpose {purpose!r}")
        raise ConsentRequired(purpose)
    # mutant: delete — tests/consent/ledger/test_gate.py
    #   test_a_new_policy_version_outdates_the_grant_until_the_subject_consents_again
    if latest[1] != latest[2]:
        raise ConsentOutdated(purpose)


GRANTED = "granted"


def consent_state(*, subject: Any, purpose: str, lock: bool = False) -> str:
    """The gate's verdict without the refusal, for deletions: ``"granted"``, or the code
    ``require_consent`` would refuse with (``consent_required``, ``consent_outdated``).

    A deletion (of a capture, of an account) is never refused for lack of consent: refusing
    it would contradict the right to erasure, and withdrawal itself erases. It still passes
    the gate, so that every deletion reads the consent state it happened under and records
    it in its audit event (invariant "gate", docs/ARCHITECTURE.md, as read for deletions).
    """
    try:
        require_consent(subject=subject, purpose=purpose, lock=lock)
    except ConsentRequired as refusal:
        return refusal.code
    return GRANTED


@cache
def _latest_sql() -> str:
    """The subject's latest record for a purpose (by code) and the purpose's current version.

    Written out rather than built by the ORM on each call: building the join costs several
    times what the database needs to answer it (bench/consent_bench.py), and this runs on
    every capture, use and deletion. The purpose id comes from a scalar subquery, so the
    index (subject, purpose, id) is read backwards and stops at the first row.
    """
    record, purpose = ConsentRecord._meta.db_table, Purpose._meta.db_table
    return (
        f"SELECT r.action, r.policy_id, p.current_version_id FROM {record} r "  # noqa: S608
        f"JOIN {purpose} p ON p.id = r.purpose_id "
        f"WHERE r.subject_id = %s AND r.purpose_id = (SELECT id FROM {purpose} WHERE code = %s) "
        "ORDER BY r.id DESC LIMIT 1"
    )


def lock_subject(subject_id: int) -> None:
    """Lock the subject's row until the transaction ends: the one lock that orders a subject's
    grants, withdrawals and gate checks made with ``lock=True``."""
    if not connection.in_atomic_block:
        raise RuntimeError("require_consent(lock=True) must run inside transaction.atomic")
    list(User.objects.select_for_update().filter(pk=subject_id).values_list("pk"))
