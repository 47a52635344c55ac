"""The swap stores in the personal-data inventory, with their retention rules.

Registered from ``SwapConfig.ready()``. Results are kept 24 hours under ``face_swap`` unless
``output_storage`` was granted when they were made (then 30 days). What each withdrawal does
(the texts of version 2, ``consent.ledger.policies``):

- ``biometric_enrolment``: every job and result goes, kept or not, running ones cancelled
  (all were made from the person's captures: a job only ever uses its subject's own);
- ``face_swap``: queued and running jobs are cancelled, every job and result not kept under
  ``output_storage`` goes;
- ``output_storage``: kept results made more than 24 hours ago go, younger ones become
  24-hour results (``stored_results_withdraw``).

- ``ephemeral_swap``: every result made without enrolment and not kept under
  ``output_storage`` goes (``swap.ephemeral_results``; kept ones are ``swap.stored_results``'
  like any other kept result).

Every withdrawal of the owner's ends every share link they made (``swap.access_links``), and a
link dies with its result whatever erases it (``swap.services.swap_job_erase``).

Account erasure erases them all (band ``DERIVED``: made from captures or uploads, encrypted
under the subject's data key, so ``keyed``). ``swap.notices`` holds
the messages left in an account when a result was erased because the person in its template
withdrew their consent.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop, ngettext_lazy

from compliance_site import inventory
from swap import selectors, services

STORES = (
    inventory.Store(
        name="swap.jobs",
        what=gettext_noop(
            "Your swap requests (which capture, which template, status) and their results "
            "(encrypted files, labelled AI-generated)"
        ),
        why=gettext_noop("Making the swaps you ask for"),
        retention=gettext_noop(
            "24 hours, unless output storage was granted when the result was made; cancelled and "
            "erased when you withdraw face-swap or biometric-enrolment consent"
        ),
        legal_basis=gettext_noop("Explicit consent (GDPR Art. 9(2)(a))"),
        locate=selectors.jobs_locate,
        export=selectors.jobs_export,
        erase=services.jobs_erase,
        band=inventory.Band.DERIVED,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.USERS, inventory.Subjects.CHILDREN),
        security=(*inventory.BASELINE_SECURITY, inventory.Security.SUBJECT_KEY),
        files=selectors.jobs_files,
        purposes=("biometric_enrolment", "face_swap"),
        count=services.jobs_count,
        keyed=True,
        sealed=services.jobs_sealed,
        items=ngettext_lazy(
            "%(count)d swap request or result", "%(count)d swap requests and results", "count"
        ),
        # Results past their time, kept under output_storage or not, and files no job names.
        expiry=(
            inventory.Expiry("swap.results", services.results_expired_erase),
            inventory.Expiry("swap.orphan_files", services.orphan_files_expired_erase),
        ),
    ),
    inventory.Store(
        name="swap.ephemeral_results",
        what=gettext_noop(
            "Results of swaps made without enrolment (encrypted files, labelled AI-generated); "
            "the photo and video they were made from are not kept"
        ),
        why=gettext_noop("Making the swaps you ask for without enrolling your face"),
        retention=gettext_noop(
            "24 hours, unless output storage was granted when the result was made; erased when "
            "you withdraw consent to swaps without enrolment"
        ),
        legal_basis=gettext_noop("Explicit consent (GDPR Art. 9(2)(a))"),
        locate=selectors.ephemeral_results_locate,
        export=selectors.ephemeral_results_export,
        erase=services.ephemeral_results_erase,
        band=inventory.Band.DERIVED,
        files=selectors.ephemeral_results_files,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.USERS, inventory.Subjects.CHILDREN),
        security=(
            *inventory.BASELINE_SECURITY,
            inventory.Security.SUBJECT_KEY,
            inventory.Security.IN_MEMORY,
        ),
        purposes=("ephemeral_swap",),
        count=services.ephemeral_results_count,
        keyed=True,
        items=ngettext_lazy(
            "%(count)d result of a swap without enrolment",
            "%(count)d results of swaps without enrolment",
            "count",
        ),
        # Past their time with the other results: ``swap.results`` of ``swap.jobs`` sweeps
        # every job, whichever store holds it.
    ),
    inventory.Store(
        # The share links. Named to sort first in its band (stores of a band are erased by
        # name): erased before the results, whose erasure would take their links along
        # uncounted, so a withdrawal's event counts them here, as its preview does.
        name="swap.access_links",
        what=gettext_noop(
            "Links you made to share a result (a digest of each link's secret, its expiry, "
            "its view limit and how often it was viewed; never who viewed it)"
        ),
        why=gettext_noop("Showing a result to the people you give its link"),
        retention=gettext_noop(
            "Until the link expires (at most 7 days), reaches its view limit or you revoke it; "
            "it also ends with its result and when you withdraw any of your consents"
        ),
        legal_basis=gettext_noop("Consent (GDPR Art. 6(1)(a)): you make and revoke each link"),
        locate=selectors.access_links_locate,
        export=selectors.access_links_export,
        erase=services.access_links_erase,
        band=inventory.Band.DERIVED,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.USERS, inventory.Subjects.CHILDREN),
        security=(*inventory.BASELINE_SECURITY, inventory.Security.DIGESTS),
        purposes=("biometric_enrolment", "face_swap", "output_storage", "ephemeral_swap"),
        count=services.access_links_count,
        items=ngettext_lazy("%(count)d share link", "%(count)d share links", "count"),
        expiry=(inventory.Expiry("swap.share_links", services.share_links_expired_erase),),
    ),
    inventory.Store(
        name="swap.stored_results",
        what=gettext_noop(
            "Swap results kept in your account (encrypted files, labelled AI-generated)"
        ),
        why=gettext_noop("Keeping your results in your account"),
        retention=gettext_noop(
            "30 days after each was made. If you withdraw output storage, those made more than 24 "
            "hours ago are erased and the others are kept until 24 hours after they were made; "
            "all are erased when you withdraw biometric enrolment"
        ),
        legal_basis=gettext_noop("Consent (GDPR Art. 6(1)(a))"),
        locate=selectors.stored_results_locate,
        export=selectors.stored_results_export,
        erase=services.stored_results_erase,
        band=inventory.Band.DERIVED,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.USERS, inventory.Subjects.CHILDREN),
        security=(*inventory.BASELINE_SECURITY, inventory.Security.SUBJECT_KEY),
        files=selectors.stored_results_files,
        purposes=("biometric_enrolment", "output_storage"),
        count=services.stored_results_count,
        withdrawal=(
            inventory.Withdrawal(
                "output_storage",
                services.stored_results_withdraw,
                services.stored_results_withdraw_count,
            ),
        ),
        keyed=True,
        items=ngettext_lazy("%(count)d kept swap result", "%(count)d kept swap results", "count"),
    ),
    inventory.Store(
        name="swap.notices",
        what=gettext_noop(
            "Notices in your account that a swap result was erased, and why (the template's "
            "title and the dates)"
        ),
        why=gettext_noop("Telling you why a result of yours is gone"),
        retention=gettext_noop("30 days after the result was erased"),
        legal_basis=gettext_noop("Legitimate interest (GDPR Art. 6(1)(f)): explaining our action"),
        locate=selectors.notices_locate,
        export=selectors.notices_export,
        erase=services.notices_erase,
        band=inventory.Band.DERIVED,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.USERS, inventory.Subjects.CHILDREN),
        security=(*inventory.BASELINE_SECURITY,),
        items=ngettext_lazy(
            "%(count)d notice about an erased result",
            "%(count)d notices about erased results",
            "count",
        ),
        expiry=(inventory.Expiry("swap.notices", services.notices_expired_erase),),
    ),
)

# Not subject data: the depicted persons' pictures, names and signed documents. Erased only by
# the wind-down (``inventory.ServiceStore``), after every subject.
SERVICE_STORES = (
    inventory.ServiceStore(
        name="swap.templates",
        what=gettext_noop(
            "Swap templates: the depicted persons' pictures, their names and signed consent "
            "documents, the withdrawals they sent staff (when each arrived, how, when it was "
            "carried out), and the templates' licences"
        ),
        count=services.templates_count_all,
        erase=services.templates_erase_all,
        why=gettext_noop(
            "Offering templates that people may swap their face into, with the depicted "
            "person's signed consent and the template's licence"
        ),
        retention=gettext_noop(
            "Until the depicted person withdraws (the template's picture and every result made "
            "from it are erased at once; their signed consent document is kept as evidence of "
            "what they agreed to), or until the service closes"
        ),
        legal_basis=gettext_noop(
            "The depicted person's explicit, signed consent (GDPR Art. 9(2)(a))"
        ),
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.DEPICTED,),
        security=(*inventory.BASELINE_SECURITY, inventory.Security.SIGNED),
    ),
)
