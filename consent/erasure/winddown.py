"""Closing the service (README "Closing the service"): closing mode, a grace period, the
erasure of everyone through the same path as a single erasure, the depicted persons' data, the
proof that every store is empty, the sealed log, the auditor bundle and a signed report.

``wind_down_start`` records the ``audit.models.WindDown`` row: from then on sign-up, captures
and swaps are refused (``audit.closing``) and every page carries a banner, while people may
still sign in, download their data and erase their own account. Once the grace period is over,
``wind_down_run`` (the ``wind_down`` command), in this order, each step resumable from the row:

1. counts what every store holds over every account (the report's "before") and notes the
   accounts to erase (``WIND_DOWN_ERASURE_STARTED``);
2. erases each account with ``erasure_request`` + ``erasure_run``, exactly as if its owner had
   asked: each gets its certificate, and its owner a text message with the erasure's secret
   token (the tombstone's lookup finds the certificate by it). A killed run resumes the
   erasure it was in (``ERASURE_JOBS`` recovery) and goes on with the accounts left;
3. erases every service store (``inventory.service_stores``: the templates, the depicted
   persons' names and signed documents), audited store by store;
4. in one transaction: proves with ``locate`` over every account that was there, and with each
   service store's count, that nothing is left and no account remains, and records
   ``WIND_DOWN_ERASED`` with the counts; otherwise nothing is recorded and a later run tries
   again;
5. seals the log, writes the auditor bundle, and signs the report (``wind_down_report``):
   counts before and after, every certificate's event leaf index, the final checkpoint (the
   bundle's last), the proof's event; then the static tombstone site
   (``consent.erasure.tombstone``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import signing
from audit.actions import AuditAction
from audit.closing import wind_down_state
from audit.models import AuditCheckpoint, AuditLeaf, WindDown
from audit.services import audit_export_write, audit_record, audit_seal, verifier_sha256
from compliance_site import inventory
from compliance_site.dates import datetime_text
from compliance_site.errors import Conflict
from consent.erasure.models import ErasureRequest
from consent.erasure.services import erasure_request, erasure_requeue_stale, erasure_run
from consent.identity.models import User
from consent.identity.sms import SmsDeliveryError, send_sms

logger = logging.getLogger(__name__)

REPORT_TYPE = "faceledger-wind-down-report"
BUNDLE_NAME = "audit-bundle.zip"
ACCOUNTS = "accounts"  # the report's count of accounts, next to the stores
# How long one account's erasure may take when a worker holds it, before the run gives up
# (and can be run again): a killed worker's erasure is recovered after ERASURE_RETRY_AFTER.
WAIT_FACTOR = 3

Progress = Callable[[int, int], None]  # (accounts erased, accounts in all)


class WindDownRefused(Conflict):
    code = "wind_down_refused"


class WindDownIncomplete(RuntimeError):
    """A store still holds something after everyone was erased: nothing is reported."""


# --- closing mode -------------------------------------------------------------------------------


def wind_down_start(*, now: datetime | None = None) -> WindDown:
    """Put the service in closing mode for ``WIND_DOWN_GRACE_DAYS``; idempotent."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        existing = WindDown.objects.select_for_update().filter(pk=1).first()
        if existing is not None:
            return existing
        grace_ends = now + timedelta(days=settings.WIND_DOWN_GRACE_DAYS)
        row = WindDown.objects.create(started_at=now, grace_ends_at=grace_ends)
        _audit(AuditAction.WIND_DOWN_STARTED, grace_ends_at=grace_ends.isoformat())
    return row


def _audit(action: AuditAction, **data) -> None:
    audit_record(actor=None, subject=None, action=action, object_type="wind_down", data=data)


# --- the run ------------------------------------------------------------------------------------


def wind_down_run(
    *, out: Path, now: datetime | None = None, progress: Progress | None = None
) -> WindDown:
    """Run (or resume) the wind-down after the grace period; writes the tombstone to ``out``.
    Refused (409 ``wind_down_refused``) before closing mode or during the grace period."""
    now = now or timezone.now()
    row = wind_down_state()
    if row is None:
        raise WindDownRefused(_("The service is not closing."))
    if row.phase == WindDown.Phase.CLOSING:
        if now < row.grace_ends_at:
            raise WindDownRefused(
                _("The grace period ends at %(date)s.") % {"date": datetime_text(row.grace_ends_at)}
            )
        row = _erasure_begin(now)
    if row.phase == WindDown.Phase.ERASING:
        _accounts_erase(row, progress)
        _service_stores_erase(row)
        row = _prove_empty(row)
    if row.phase == WindDown.Phase.ERASED:
        row = _report(row, out)
    return row


def _erasure_begin(now: datetime) -> WindDown:
    """Step 1: the counts before, and the accounts to erase."""
    with transaction.atomic(durable=True):
        row = WindDown.objects.select_for_update().get(pk=1)
        if row.phase != WindDown.Phase.CLOSING:
            return row
        subjects = list(User.objects.order_by("pk").values_list("pk", flat=True))
        row.counts_before = {ACCOUNTS: len(subjects), **_counts(subjects)}
        row.subjects, row.pending = subjects, subjects
        row.phase, row.erasure_started_at = WindDown.Phase.ERASING, now
        row.save()
        _audit(AuditAction.WIND_DOWN_ERASURE_STARTED, counts=row.counts_before)
    return row


def _counts(subjects: list[int], *, located: bool = False) -> dict[str, int]:
    """What each store holds over ``subjects`` (``inventory.items_held``: items, as the withdrawal
    preview counts them; with ``located``, every reference ``locate`` finds, the proof's
    measure) and what each service store holds, in erasure order."""

    def measure(store: inventory.Store, subject_id: int) -> int:
        if located:
            return len(store.locate(subject_id))
        return inventory.items_held(store, subject_id)

    counts = {
        store.name: sum(measure(store, subject_id) for subject_id in subjects)
        for store in inventory.stores()
    }
    counts.update({store.name: store.count() for store in inventory.service_stores()})
    return counts


def _accounts_erase(row: WindDown, progress: Progress | None) -> None:
    """Step 2: each account through the single erasure's path, one at a time."""
    total = len(row.subjects)
    for subject_id in list(row.pending):
        _account_erase(subject_id)
        with transaction.atomic(durable=True):
            locked = WindDown.objects.select_for_update().get(pk=1)
            locked.pending = [pk for pk in locked.pending if pk != subject_id]
            locked.save(update_fields=["pending"])
        row.pending = locked.pending
        if progress is not None:
            progress(total - len(row.pending), total)


def _account_erase(subject_id: int) -> None:
    request = ErasureRequest.objects.filter(subject_ref=subject_id).first()
    if request is None:
        user = User.objects.filter(pk=subject_id).first()
        if user is None:
            return  # erased by its owner's own request meanwhile: certified already
        number = str(user.phone_number)
        request, token = erasure_request(subject=user)
        _token_send(number, token)
    _erasure_finish(request.pk)


def _token_send(number: str, token: str) -> None:
    """Tell the person their erasure's secret token: the tombstone's lookup finds their
    certificate by it. A failed message does not stop the erasure (the token is lost with it;
    the report still counts the certificate)."""
    lookup = settings.WIND_DOWN_TOMBSTONE_URL.rstrip("/")
    values = {"name": settings.SMS_SENDER_NAME, "token": token}
    if lookup:
        body = _(
            "%(name)s is closing and has erased your data. Your certificate of erasure: "
            "%(url)s#%(token)s"
        ) % {**values, "url": f"{lookup}/lookup.html"}
    else:
        body = (
            _(
                "%(name)s is closing and has erased your data. Keep this token to find your "
                "certificate of erasure: %(token)s"
            )
            % values
        )
    try:
        send_sms(number, body)
    except SmsDeliveryError:
        logger.warning("wind-down: a text message with an erasure token could not be sent")


def _erasure_finish(request_id) -> None:
    """Run the erasure here; if a worker holds it, wait for it (recovering it if its worker
    died, as the jobs' beat task would)."""
    deadline = time.monotonic() + WAIT_FACTOR * settings.ERASURE_RETRY_AFTER
    while True:
        erasure_run(request_id=request_id)
        status = ErasureRequest.objects.filter(pk=request_id).values_list("status", flat=True)
        if status.first() == ErasureRequest.Status.DONE:
            return
        if time.monotonic() > deadline:
            raise WindDownIncomplete(f"erasure request {request_id} did not finish")
        time.sleep(1)
        erasure_requeue_stale()


def _service_stores_erase(row: WindDown) -> None:
    """Step 3: every service store, each in its own transaction with its event."""
    for store in inventory.service_stores():
        with transaction.atomic(durable=True):
            locked = WindDown.objects.select_for_update().get(pk=1)
            erased = store.erase()
            locked.service_erased[store.name] = locked.service_erased.get(store.name, 0) + erased
            locked.save(update_fields=["service_erased"])
            _audit(AuditAction.WIND_DOWN_STORE_ERASED, store=store.name, erased=erased)
        row.service_erased = locked.service_erased


def _prove_empty(row: WindDown) -> WindDown:
    """Step 4, in one transaction: nothing located anywhere, no account left; recorded."""
    with transaction.atomic(durable=True):
        row = WindDown.objects.select_for_update().get(pk=1)
        after = {ACCOUNTS: User.objects.count(), **_counts(row.subjects, located=True)}
        left = sorted(name for name, count in after.items() if count)
        # mutant: delete — tests/erasure/test_wind_down.py
        #   test_a_wind_down_that_cannot_prove_every_store_empty_reports_nothing
        if left:
            raise WindDownIncomplete(f"stores still hold data: {left}")
        row.counts_after = after
        row.subjects, row.pending = [], []
        row.phase = WindDown.Phase.ERASED
        row.save()
        _audit(AuditAction.WIND_DOWN_ERASED, accounts=row.counts_before[ACCOUNTS], counts=after)
    return row


# --- the report ---------------------------------------------------------------------------------


def _seal_everything() -> None:
    while audit_seal() is not None:
        pass


def _report(row: WindDown, out: Path) -> WindDown:
    """Step 5: seal, bundle, sign the report, write the tombstone; then record the report."""
    from consent.erasure import tombstone

    out.mkdir(parents=True, exist_ok=True)
    _seal_everything()
    bundle = out / BUNDLE_NAME
    with bundle.open("wb") as fileobj:
        manifest = audit_export_write(actor=None, since=None, until=None, fileobj=fileobj)
    now = timezone.now()
    body = wind_down_report_body(row, manifest, bundle.read_bytes(), now)
    # The report is the service's statement that everyone was erased: the erasure key signs it.
    report = signing.sign(signing.ERASURE, body)
    tombstone.tombstone_write(out=out, report=report)
    with transaction.atomic(durable=True):
        row = WindDown.objects.select_for_update().get(pk=1)
        row.report = json.dumps(report, ensure_ascii=False, indent=1)
        row.phase, row.completed_at = WindDown.Phase.DONE, now
        row.save(update_fields=["report", "phase", "completed_at"])
        _audit(AuditAction.WIND_DOWN_REPORTED, report_sha256=_sha256(row.report.encode()))
    # The export's and the report's own events follow the bundle's last checkpoint: sealed
    # here so that the log the database keeps is sealed to its end.
    _seal_everything()
    return row


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def wind_down_report_body(row: WindDown, manifest: dict, bundle: bytes, now: datetime) -> dict:
    """The report's signed facts. The final checkpoint is the bundle's last one."""
    checkpoint = AuditCheckpoint.objects.filter(tree_size=manifest["tree_size"]).first()
    assert checkpoint is not None  # the bundle ends at a checkpoint the sealer signed
    stores = [
        {"store": name, "before": before, "after": row.counts_after.get(name, 0)}
        for name, before in row.counts_before.items()
    ]
    return {
        "type": REPORT_TYPE,
        "version": 1,
        "controller": settings.CONTROLLER_NAME,
        "log_id": settings.AUDIT_LOG_ID,
        "closing_started_at": row.started_at.isoformat(),
        "grace_ends_at": row.grace_ends_at.isoformat(),
        "erasure_started_at": row.erasure_started_at.isoformat()
        if row.erasure_started_at
        else None,
        "completed_at": now.isoformat(),
        "accounts_erased": row.counts_before.get(ACCOUNTS, 0),
        "stores": stores,
        "proof": {"every_store_empty": True, "event": _leaf_of(AuditAction.WIND_DOWN_ERASED)},
        "certificates": certificates_listed(),
        "final_checkpoint": {**checkpoint.body(), "signature": checkpoint.signature},
        "audit_bundle": {
            "file": BUNDLE_NAME,
            "sha256": _sha256(bundle),
            "tree_size": manifest["tree_size"],
            "events": manifest["events"],
        },
        # Every key that signed something in the bundle, the certificates or this report
        # (current and retired), as the tombstone's keys.json lists them.
        "keys": [
            {k: entry[k] for k in ("key_id", "job", "fingerprint")}
            for entry in signing.key_history_json()
        ],
        "verifier_sha256": verifier_sha256(),
    }


def _leaf_of(action: AuditAction) -> dict:
    from audit.models import AuditEvent

    event = AuditEvent.objects.filter(action=action).order_by("-id").first()
    assert event is not None
    leaf = AuditLeaf.objects.get(event_id=event.pk)
    return {
        "action": action.name,
        "leaf_index": leaf.index,
        "leaf_hash": bytes(leaf.leaf_hash).hex(),
    }


def certificates_listed() -> list[dict]:
    """Every certificate issued (the wind-down's and earlier erasures'), by its event's leaf
    index, with the digest of the erasure's token that names its file in the tombstone."""
    listed = []
    for request in ErasureRequest.objects.filter(status=ErasureRequest.Status.DONE):
        certificate = json.loads(request.certificate)
        listed.append(
            {
                "erasure_request": str(request.pk),
                "leaf_index": certificate["audit_event"]["leaf_index"],
                "leaf_hash": certificate["audit_event"]["leaf_hash"],
                "lookup": request.token_digest,
            }
        )
    return sorted(listed, key=lambda entry: entry["leaf_index"])
