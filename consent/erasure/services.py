"""Account erasure (GDPR Art. 17): walk the inventory, prove nothing is left, certify.

``erasure_request`` records the request, disables the account (no new sign-in can add data
while it runs) and queues ``consent.tasks.erasure_run`` after commit. The task, in this order:

1. erases every store but the last, in inventory order, each in its own transaction with its
   audit event (store name and count, no identifier) and its progress mark, so that a run
   killed half-way resumes after the last store done. Results and reports come first (band
   DERIVED), then the biometric stores, sign-in traces, the subject's data key (the
   crypto-shred), the ledger, the account row. Deleting the account row keeps the keyed digest
   of the number (identity's ``ErasedNumber``), so the stores that find rows by the number
   still find any that a sign-in made meanwhile;
2. in one transaction: erases again anything a store still locates, writes the last store's
   event and ERASURE_COMPLETED *before* erasing the last store (the pseudonym mapping: events
   written after it would name nobody, or a new pseudonym), erases it, unlinks the request from
   the account, proves with ``locate_all`` that no store holds anything, and only then drops
   the number's digest; otherwise all of this rolls back and a later run tries again;
3. seals the audit log and issues a certificate signed with the service key, citing the
   ERASURE_COMPLETED event by its leaf index and the checkpoint that covers it: anyone can check
   it with ``/api/v1/audit/proof/inclusion``. It also states ``backups_unreadable_after``: when
   the last master key that could open a database backup of the person's data key is destroyed
   (``keystore.backup_horizon``).

Every step is idempotent. The machinery is ``compliance_site.jobs`` (``ERASURE_JOBS``): a
request stuck in ``running`` (worker killed) is put back to pending and queued again by the
jobs' beat task once its heartbeat is older than ``ERASURE_RETRY_AFTER`` seconds, as many times
as it takes (never failed); a pending one whose message was lost is sent again. Each claim
has its own token (``claim``): a run that was only stalled, whose request went to a new run,
finds its claim gone at its next step and stops, that step rolled back.

Deletion is never refused for lack of consent; the consent states read through the gate are
recorded in ERASURE_REQUESTED (invariant "gate", docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit import signing
from audit.actions import AuditAction
from audit.models import AuditCheckpoint, AuditLeaf
from audit.services import SubjectRef, audit_record, audit_seal
from compliance_site import inventory, jobs, keystore
from compliance_site.errors import Conflict, NotFound
from consent.erasure.models import ErasureRequest
from consent.erasure.pdf import certificate_pdf
from consent.identity.models import User
from consent.identity.selectors import token_digest
from consent.identity.services import (
    CodeUse,
    account_erase_code_check,
    erased_number_forget,
    otp_request,
)
from consent.ledger.gate import consent_state, lock_subject
from consent.ledger.models import Purpose
from consent.ledger.selectors import check_language

CERTIFICATE_TYPE = "faceledger-erasure-certificate"
_MAX_TOKEN_LENGTH = 128


class ErasureIncomplete(RuntimeError):
    """A store still holds something after erasure; the run is rolled back and retried."""


ERASURE_JOBS = jobs.register(
    jobs.JobKind(
        name="consent.erasure",
        model=ErasureRequest,
        task="consent.tasks.erasure_run",
        stale_after=lambda: timedelta(seconds=settings.ERASURE_RETRY_AFTER),
        queued_at="requested_at",
        claimed_at=None,
        claim_field="claim",
        progress=None,  # its own: the stores erased so far, which a resumed run skips
        finished_at="completed_at",
        error=None,
    )
)


# --- the request --------------------------------------------------------------------------------


def erasure_code_send(*, subject: User, client_ip: str) -> str:
    """Send the subject a fresh code that can erase their account and nothing else (the
    portal asks for it, with the typed words, before erasing); returns the number it went to.
    Counted against the same send limits as sign-in codes."""
    use = CodeUse.account_erase(subject_id=subject.pk)
    return otp_request(phone=str(subject.phone_number), client_ip=client_ip, use=use)


def erasure_request_confirmed(
    *, subject: User, code: str, client_ip: str
) -> tuple[ErasureRequest, str]:
    """The portal's erasure: the fresh code (``erasure_code_send``) is checked first, its
    failure committed (back-off, lock-out); then ``erasure_request``."""
    # mutant: delete — tests/erasure/test_erasure.py
    #   test_the_portal_never_erases_without_a_fresh_code
    #   test_a_sign_in_code_cannot_erase_the_account
    account_erase_code_check(subject=subject, code=code, client_ip=client_ip)
    return erasure_request(subject=subject)


def erasure_request(*, subject: User) -> tuple[ErasureRequest, str]:
    """Ask for the subject's account to be erased; returns the request and its status token
    (shown once, only its SHA-256 is stored). ``erasure_in_progress`` (409) if one runs."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic(durable=True):
        lock_subject(subject.pk)
        if ErasureRequest.objects.filter(subject_ref=subject.pk).exists():
            raise Conflict(_("Your account is already being erased."), code="erasure_in_progress")
        consents = {
            code: consent_state(subject=subject, purpose=code)
            for code in Purpose.objects.exclude(current_version=None).values_list("code", flat=True)
        }
        User.objects.filter(pk=subject.pk).update(is_active=False)
        request = ErasureRequest.objects.create(
            token_digest=token_digest(token), subject_ref=subject.pk
        )
        audit_record(
            actor=subject,
            subject=subject,
            action=AuditAction.ERASURE_REQUESTED,
            object_type="erasure_request",
            object_id=str(request.pk),
            data={"consent": consents},
        )
        jobs.enqueue_on_commit(ERASURE_JOBS, request.pk)
    return request, token


def erasure_for_token(token: str) -> ErasureRequest:
    """The request whose status token this is; anything else is "not found"."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        raise _not_found()
    request = ErasureRequest.objects.filter(token_digest=token_digest(token)).first()
    if request is None:
        raise _not_found()
    return request


def _not_found() -> NotFound:
    return NotFound(_("There is no such erasure request."), code="erasure_not_found")


def erasure_certificate(request: ErasureRequest) -> dict | None:
    return json.loads(request.certificate) if request.certificate else None


# --- the run ------------------------------------------------------------------------------------


def erasure_run(*, request_id) -> ErasureRequest | None:
    """Run (or resume) an erasure. Returns None if it is done or another run holds it."""
    claim = jobs.claim(ERASURE_JOBS, request_id)
    if claim is None:
        return None
    return _run(claim)


def _run(claim: jobs.Claim) -> ErasureRequest:
    request = claim.row
    if request.completed_event_id is None:
        stores = inventory.stores()
        _erase_stores(claim, stores[:-1])
        _erase_last_and_prove(claim, stores)
    _certify(claim)
    return request


def _erase_stores(claim: jobs.Claim, stores: list[inventory.Store]) -> None:
    request = claim.row
    subject_id = request.subject_ref
    for store in stores:
        if store.name in request.progress:
            continue  # done by an earlier run
        with transaction.atomic(durable=True):
            erased = store.erase(subject_id)
            _store_event(request, subject_id, store.name, erased)
            _progress(claim, store.name, erased)


def _store_event(
    request: ErasureRequest, subject_id: int, store: str, erased: int, **extra: bool
) -> None:
    audit_record(
        actor=None,
        subject=SubjectRef(subject_id),
        action=AuditAction.ERASURE_STORE_ERASED,
        object_type="erasure_request",
        object_id=str(request.pk),
        data={"store": store, "erased": erased, **extra},
    )


def _progress(claim: jobs.Claim, store: str, erased: int) -> None:
    """Mark the store done, with the heartbeat. If recovery gave the request to another run
    meanwhile, this one stops: the store's erasure and event roll back, the other run does it."""
    progress = claim.row.progress
    progress[store] = progress.get(store, 0) + erased
    if not jobs.heartbeat(claim, progress=progress):
        raise ErasureIncomplete("the request was given to another run")


def _erase_last_and_prove(claim: jobs.Claim, stores: list[inventory.Store]) -> None:
    """Step 2 of the module docstring, in one transaction, held by this run's claim."""
    request = claim.row
    subject_id, last = request.subject_ref, stores[-1]
    # Cleared only below, in the transaction that records the completion erasure_run checked.
    assert subject_id is not None
    with transaction.atomic(durable=True):
        # Locked: recovery cannot hand the request to another run until this commits.
        # mutant: delete — tests/erasure/test_erasure.py
        #   test_a_stalled_run_whose_request_was_handed_to_a_new_run_stops_and_completes_nothing
        if not jobs.mine(claim).select_for_update().exists():
            raise ErasureIncomplete("the request was given to another run")
        request.subject_ref = None  # first: the erasure request is itself a store to prove
        request.save(update_fields=["subject_ref"])
        # mutant: delete — tests/erasure/test_numbers.py
        #   test_a_sign_in_started_while_the_erasure_runs_is_erased_before_the_certificate
        for store in stores[:-1]:  # whatever arrived since (or a store that missed some)
            if store.locate(subject_id):
                erased = store.erase(subject_id)
                _store_event(request, subject_id, store.name, erased, again=True)
                request.progress[store.name] = request.progress.get(store.name, 0) + erased
        located = len(last.locate(subject_id))
        _store_event(request, subject_id, last.name, located)
        request.progress[last.name] = located
        completed = audit_record(
            actor=None,
            subject=SubjectRef(subject_id),
            action=AuditAction.ERASURE_COMPLETED,
            object_type="erasure_request",
            object_id=str(request.pk),
            data={"stores": len(stores), "erased": sum(request.progress.values())},
        )
        last.erase(subject_id)
        request.completed_event_id = completed.pk
        request.heartbeat_at = timezone.now()
        request.save(update_fields=["progress", "completed_event_id", "heartbeat_at"])
        left = {name: refs for name, refs in inventory.locate_all(subject_id).items() if refs}
        # mutant: delete — tests/erasure/test_erasure.py
        #   test_an_erasure_that_cannot_prove_emptiness_is_not_certified
        if left:
            raise ErasureIncomplete(f"stores still hold data: {sorted(left)}")
        erased_number_forget(subject_id=subject_id)  # the stores needed it up to this check


def _certify(claim: jobs.Claim) -> None:
    """Seal the log and sign the certificate (idempotent: a retry signs the same facts)."""
    request = claim.row
    audit_seal()
    leaf = AuditLeaf.objects.filter(event_id=request.completed_event_id).first()
    if leaf is None:
        raise ErasureIncomplete("the completion event is not sealed yet")
    checkpoint = AuditCheckpoint.objects.filter(tree_size__gt=leaf.index).order_by("id").first()
    # A seal writes its leaves in the transaction that signs the checkpoint covering them.
    assert checkpoint is not None
    now = timezone.now()
    body = _certificate_body(request, leaf, checkpoint, now)
    certificate = signing.sign(signing.ERASURE, body)
    jobs.finish(
        claim,
        ErasureRequest.Status.DONE,
        now=now,
        certificate=json.dumps(certificate, ensure_ascii=False, indent=1),
    )


def _certificate_body(
    request: ErasureRequest, leaf: AuditLeaf, checkpoint: AuditCheckpoint, now: datetime
) -> dict:
    order = {store.name: position for position, store in enumerate(inventory.stores())}
    stores = sorted(request.progress.items(), key=lambda item: (order.get(item[0], 10**6), item[0]))
    return {
        "type": CERTIFICATE_TYPE,
        "version": 2,
        "erasure_request": str(request.pk),
        "controller": settings.CONTROLLER_NAME,
        "requested_at": request.requested_at.isoformat(),
        "completed_at": now.isoformat(),
        "stores": [{"store": name, "erased": count} for name, count in stores],
        "verified_empty": True,
        # A database backup holds the data key wrapped by a master key that exists now; every
        # one of those is destroyed by this moment (README "Encryption and backups").
        "backups_unreadable_after": keystore.backup_horizon(now).isoformat(),
        "audit_event": {
            "action": AuditAction.ERASURE_COMPLETED.name,
            "leaf_index": leaf.index,
            "leaf_hash": bytes(leaf.leaf_hash).hex(),
        },
        "checkpoint": checkpoint.document(),
        "inclusion_proof": (
            f"/api/v1/audit/proof/inclusion?index={leaf.index}&tree_size={checkpoint.tree_size}"
        ),
        "public_key": "/api/v1/audit/keys",
    }


def erasure_requeue_stale(*, now: datetime | None = None) -> int:
    """Erasures' share of the beat task (``jobs.recover``): queue again requests whose worker
    died (running, stale heartbeat) or whose message was lost (still pending). Returns how
    many were queued."""
    counts = jobs.recover(ERASURE_JOBS, now=now)
    return counts["requeued"] + counts["resent"]


def erasure_certificate_pdf(*, erasure: ErasureRequest, language: str) -> bytes:
    """The signed certificate as a printable PDF (the JSON stays the proof). Issued to
    whoever holds the status token, which names nobody; audited without a subject."""
    if not erasure.certificate:
        raise Conflict(_("The erasure is not finished yet."), code="erasure_not_done")
    certificate = json.loads(erasure.certificate)
    with translation.override(check_language(language)):
        pdf = certificate_pdf(certificate)
    with transaction.atomic(durable=True):
        audit_record(
            actor=None,
            subject=None,
            action=AuditAction.ERASURE_CERTIFICATE_ISSUED,
            object_type="erasure_request",
            object_id=str(erasure.pk),
            data={"format": "pdf"},
        )
    return pdf
