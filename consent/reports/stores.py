"""The reports' store of personal data: reports made in the background (the contract:
``compliance_site.inventory``)."""

from __future__ import annotations

from django.utils.translation import gettext_noop, ngettext_lazy

from compliance_site import inventory
from consent.reports.services import (
    reports_count,
    reports_erase,
    reports_expired_erase,
    reports_export,
    reports_locate,
)

STORES = (
    inventory.Store(
        name="consent.reports",
        what=gettext_noop(
            "Data reports made in the background for long histories: the PDF, encrypted under "
            "your data key"
        ),
        why=gettext_noop("Answering your request for a copy of your data"),
        retention=gettext_noop(
            "24 hours after the report is made, or sooner: when a capture it shows is deleted"
        ),
        legal_basis=gettext_noop("Legal obligation to answer access requests (GDPR Art. 15)"),
        locate=reports_locate,
        export=reports_export,
        erase=reports_erase,
        band=inventory.Band.DERIVED,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.USERS, inventory.Subjects.CHILDREN),
        security=(*inventory.BASELINE_SECURITY, inventory.Security.SUBJECT_KEY),
        # A report holds thumbnails of your photos: withdrawing enrolment erases it too.
        purposes=("biometric_enrolment",),
        count=reports_count,
        keyed=True,
        items=ngettext_lazy("%(count)d data report", "%(count)d data reports", "count"),
        expiry=(inventory.Expiry("consent.reports", reports_expired_erase),),
    ),
)
