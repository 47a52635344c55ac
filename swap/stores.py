"""The swap stores in the personal-data inventory, and their retention rules.

Registered from ``SwapConfig.ready()``. Results are kept 24 hours under ``face_swap`` unless
``output_storage`` was granted when they were made (then 30 days): withdrawing ``face_swap``
cancels queued and running jobs and erases every job and result not kept under
``output_storage``; withdrawing ``output_storage`` erases the kept results (see
``consent.ledger.policies``). Account erasure erases both, before the subject's data key.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

from biometrics import retention
from compliance_site import inventory
from swap import selectors, services

JOBS = inventory.Store(
    name="swap.jobs",
    what=gettext_noop(
        "Your swap requests (which capture, which template, status) and their results "
        "(encrypted files, labelled AI-generated)"
    ),
    why=gettext_noop("Making the swaps you ask for"),
    retention=gettext_noop(
        "24 hours, unless output storage was granted when the result was made; cancelled and "
        "erased when you withdraw face-swap consent"
    ),
    legal_basis=gettext_noop("Explicit consent (GDPR Art. 9(2)(a))"),
    locate=selectors.jobs_locate,
    export=selectors.jobs_export,
    erase=services.jobs_erase_for,
    files=selectors.jobs_files,
    purposes=("face_swap",),
    # Before the captures they were made from and the key that encrypts them.
    order=90,
)

STORED_RESULTS = inventory.Store(
    name="swap.stored_results",
    what=gettext_noop("Swap results kept in your account (encrypted files, labelled AI-generated)"),
    why=gettext_noop("Keeping your results in your account"),
    retention=gettext_noop("30 days after each was made, or until you withdraw output storage"),
    legal_basis=gettext_noop("Consent (GDPR Art. 6(1)(a))"),
    locate=selectors.stored_results_locate,
    export=selectors.stored_results_export,
    erase=services.stored_results_erase_for,
    files=selectors.stored_results_files,
    purposes=("output_storage",),
    order=95,
)

RULES = (
    retention.RetentionRule("swap.results", services.results_expired_erase),
    retention.RetentionRule("swap.orphan_files", services.orphan_results_erase),
)


def register() -> None:
    for store in (JOBS, STORED_RESULTS):
        inventory.register(store)
    for rule in RULES:
        retention.register(rule)
