"""The ledger's store of personal data: consent records, their receipts and minors'
declarations (the contract: ``compliance_site.inventory``). Band ``RECORDS``: the proof stays
until every key that opens the data it covers is destroyed."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from compliance_site import inventory
from consent.identity.stores import ERASED_BY_ERASURE
from consent.ledger.selectors import ledger_export, ledger_locate
from consent.ledger.services import ledger_erase

STORES = (
    inventory.Store(
        name="consent.ledger",
        # Marked for translation: the retention page shows them in the reader's language.
        what=gettext_noop(
            "Consent records (purpose, policy version, time, method, fingerprints of the "
            "text shown and of the browser, network of the address), their signed "
            "receipts, and the day an age under 14 was declared"
        ),
        why=gettext_noop("Proof of which consent was given or withdrawn, when and to which text"),
        retention=ERASED_BY_ERASURE,
        legal_basis=gettext_noop("Legal obligation to demonstrate consent (GDPR Art. 7(1))"),
        locate=ledger_locate,
        export=ledger_export,
        erase=ledger_erase,
        band=inventory.Band.RECORDS,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(
            inventory.Subjects.USERS,
            inventory.Subjects.CHILDREN,
            inventory.Subjects.GUARDIANS,
        ),
        security=(
            *inventory.BASELINE_SECURITY,
            inventory.Security.APPEND_ONLY,
            inventory.Security.SIGNED,
            inventory.Security.DIGESTS,
        ),
    ),
)
