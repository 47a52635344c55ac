"""Erasure's store of personal data: the erasure requests (the contract:
``compliance_site.inventory``)."""

from __future__ import annotations

import json

from django.utils.translation import gettext_noop

from compliance_site import inventory
from consent.erasure.models import ErasureRequest


def erasure_requests_locate(subject_id: int) -> list[str]:
    ids = ErasureRequest.objects.filter(subject_ref=subject_id).values_list("pk", flat=True)
    return [f"erasure_request:{pk}" for pk in ids]


def erasure_requests_export(subject_id: int) -> list[dict]:
    return [
        {
            "id": str(pk),
            "status": status,
            "requested_at": requested.isoformat(),
            "certificate": json.loads(certificate) if certificate else None,
        }
        for pk, status, requested, certificate in ErasureRequest.objects.filter(
            subject_ref=subject_id
        ).values_list("pk", "status", "requested_at", "certificate")
    ]


def erasure_requests_erase(subject_id: int) -> int:
    """Nothing here: a running erasure needs its link to the account to resume, and clears it
    itself, in the transaction that completes it."""
    return 0


STORES = (
    inventory.Store(
        name="consent.erasure_requests",
        what=gettext_noop(
            "Your erasure request: its progress, a digest of its status token and the "
            "certificate; linked to your account only while it runs"
        ),
        why=gettext_noop("Proving that your data was erased, to you and to regulators"),
        retention=gettext_noop("The certificate is kept; the link to you is removed when done"),
        legal_basis=gettext_noop("Legal obligation to demonstrate compliance (GDPR Art. 5(2))"),
        locate=erasure_requests_locate,
        export=erasure_requests_export,
        erase=erasure_requests_erase,
        band=inventory.Band.RECORDS,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.USERS, inventory.Subjects.CHILDREN),
        security=(
            *inventory.BASELINE_SECURITY,
            inventory.Security.DIGESTS,
            inventory.Security.SIGNED,
        ),
    ),
)
