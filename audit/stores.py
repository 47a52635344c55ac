"""The audit log's store of personal data in the inventory: the pseudonym mapping.

Registered from ``AuditConfig.ready()``. The log's events keep the pseudonym (invariant
"pseudonymous-log", docs/ARCHITECTURE.md); what names the person is the mapping from their account
to it, erased last (``Band.PSEUDONYM``): erasure writes its own events under the pseudonym, then
forgets it.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

from audit.models import SubjectPseudonym
from audit.services import pseudonym_erase
from compliance_site import inventory


def pseudonyms_locate(subject_id: int) -> list[str]:
    exists = SubjectPseudonym.objects.filter(subject_id=subject_id).exists()
    return [f"subject_pseudonym:{subject_id}"] if exists else []


def pseudonyms_export(subject_id: int) -> dict | None:
    """The pseudonym that names the subject in the audit log, so they can find their events."""
    row = SubjectPseudonym.objects.filter(subject_id=subject_id).first()
    return {"pseudonym": row.pseudonym} if row else None


def pseudonyms_erase(subject_id: int) -> int:
    count = len(pseudonyms_locate(subject_id))
    pseudonym_erase(subject_id=subject_id)
    return count


STORES = (
    inventory.Store(
        name="audit.pseudonyms",
        what=gettext_noop(
            "The link between you and the random pseudonym that names you in the audit log"
        ),
        why=gettext_noop("Keeping a tamper-evident log of every change without your number"),
        retention=gettext_noop(
            "As long as the account exists; when it is erased the log keeps the pseudonym but "
            "no longer points at you"
        ),
        legal_basis=gettext_noop("Legal obligation to demonstrate compliance (GDPR Art. 5(2))"),
        locate=pseudonyms_locate,
        export=pseudonyms_export,
        erase=pseudonyms_erase,
        band=inventory.Band.PSEUDONYM,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.USERS, inventory.Subjects.CHILDREN, inventory.Subjects.STAFF),
        security=(*inventory.BASELINE_SECURITY,),
    ),
)
