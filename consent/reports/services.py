"""The user-data report (GDPR Art. 15, PIPL Art. 45) and the portable export (GDPR Art. 20).

Both are one document, assembled from the inventory: every store's ``export(subject)``, its
description, the current policies, and the audit events about the subject (by pseudonym) with
the latest checkpoint. ``consent`` never imports the apps above it: a store registered by any app
(``swap.*`` included) appears here by itself; the apps above add their own sections and
schemas (``sections``, ``schema``). Photos come through the stores' ``files`` hook,
decrypted in memory only.

Delivery of the PDF: a history of at most ``REPORT_ASYNC_EVENTS`` audit events is made in the
request. A longer one is made by a worker (``report_job_run``): the request answers 202 with a
job, whose status shows progress, and the PDF is downloaded when ready. Until then it is stored
only encrypted under the subject's data key (``inventory.subject_cipher``) and erased
``REPORT_TTL`` seconds after it is made (the retention sweep calls
``reports_expired_erase``); it is a store of its own, ``consent.reports``. The worker's
machinery is ``compliance_site.jobs`` (``REPORT_JOBS``): a job that waited or ran far longer than
any run takes is failed with ``worker_lost`` (never retried: the subject asks again), by the
jobs' beat task, and at once when its subject asks for a report or its status.

Every report made, every download and every export writes an audit event.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.actions import AuditAction
from audit.leaves import format_time
from audit.models import SubjectPseudonym
from audit.selectors import checkpoint_latest, subject_event_count, subject_events
from audit.services import audit_record
from compliance_site import inventory, jobs, storage
from compliance_site.crypto import DecryptionError
from compliance_site.errors import Conflict, NotFound
from consent.identity.models import User
from consent.identity.selectors import masked_phone
from consent.ledger.gate import lock_subject
from consent.ledger.selectors import check_language, policies_current
from consent.reports import sections
from consent.reports.models import ReportJob
from consent.reports.pdf import report_pdf
from consent.reports.schema import export_schema

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "faceledger-export"
EXPORT_VERSION = 1
REPORT_FOLDER = "reports"
PROGRESS_EVERY = 0.5  # seconds between progress writes
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def _ttl() -> timedelta:
    return timedelta(seconds=settings.REPORT_TTL)


def _stale_after() -> timedelta:
    # Longer than any live run: the task's hard time limit, plus a margin.
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


def _failed(job: ReportJob, error: str) -> None:
    _report_event(
        job.subject, AuditAction.REPORT_FAILED, actor=None, object_id=str(job.pk), error=error
    )


REPORT_JOBS = jobs.register(
    jobs.JobKind(
        name="consent.reports",
        model=ReportJob,
        task="consent.tasks.report_job_run",
        stale_after=_stale_after,
        retry=False,
        queued_at="requested_at",
        heartbeat_at=None,
        finished_at="completed_at",
        select_related=("subject",),
        on_failed=_failed,
    )
)


# --- the document -------------------------------------------------------------------------------


def _absolute(path: str) -> str:
    return settings.PUBLIC_BASE_URL + path


def _page(name: str) -> str:
    """A public page's address; "" for one no installed app serves (consent imports none of
    the apps above it, so it cannot count on their pages)."""
    try:
        return _absolute(reverse(name))
    except NoReverseMatch:
        return ""


def controller() -> dict:
    return {
        "name": settings.CONTROLLER_NAME,
        "contact": settings.CONTROLLER_CONTACT,
        "address": settings.CONTROLLER_ADDRESS,
        "email": settings.CONTROLLER_EMAIL,
        "phone": settings.CONTROLLER_PHONE,
        "privacy_notice": _page("consent:privacy"),
        "retention_schedule": _page("biometrics:retention"),
    }


def _pseudonym(subject_id: int) -> str:
    row = SubjectPseudonym.objects.filter(subject_id=subject_id).values_list("pseudonym").first()
    return row[0] if row else ""


def _store_entry(store: inventory.Store, subject_id: int) -> dict:
    """A store's description in the active language, and what it holds for the subject."""
    return {
        "what": _(store.what),
        "why": _(store.why),
        "retention": _(store.retention),
        "legal_basis": _(store.legal_basis),
        "data": store.export(subject_id),
    }


def _policies(language: str) -> list[dict]:
    return [
        {
            "purpose": policy.purpose.code,
            "title": policy.title,
            "version": policy.version,
            "sha256": policy.sha256,
            "retention": policy.retention,
        }
        for policy in policies_current(language)
    ]


def _audit_section(pseudonym: str) -> dict:
    checkpoint = checkpoint_latest()
    return {
        "log_id": settings.AUDIT_LOG_ID,
        "pseudonym": pseudonym or None,
        "events": subject_events(pseudonym),
        "checkpoint": checkpoint.document() if checkpoint else None,
        "public_key_url": _absolute(reverse("audit-api:keys")),
        "inclusion_proof_url": _absolute(reverse("audit-api:inclusion-proof"))
        + "?index={index}&tree_size={tree_size}",
        "verifier_url": _absolute(reverse("audit:transparency")),
    }


def report_document(*, subject: User, language: str, now: datetime | None = None) -> dict:
    """Everything we hold about ``subject``, as one JSON-ready document (the export, and the
    input of the PDF). Store descriptions and policy titles are in ``language``."""
    now = now or timezone.now()
    with translation.override(language):
        stores = {store.name: _store_entry(store, subject.pk) for store in inventory.stores()}
        policies = _policies(language)
    pseudonym = _pseudonym(subject.pk)
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "generated_at": format_time(now),
        "language": language,
        "controller": controller(),
        "subject": {
            "pseudonym": pseudonym or None,
            "phone_number_masked": masked_phone(subject.phone_number),
        },
        "policies": policies,
        "stores": stores,
        "audit": _audit_section(pseudonym),
    }


def _thumbnails(subject_id: int) -> dict[str, bytes]:
    """The subject's own photos by reference (a capture id), decrypted in memory."""
    photos: dict[str, bytes] = {}
    thumbnails = sections.thumbnail_stores()
    for store in inventory.stores():
        if store.name in thumbnails and store.files is not None:
            for item in store.files(subject_id):
                if item.content_type.startswith("image/"):
                    photos[item.ref] = item.data
    return photos


def _render(document: dict, subject_id: int, progress=None) -> bytes:
    with translation.override(document["language"]):
        return report_pdf(document, photos=_thumbnails(subject_id), progress=progress)


def _report_event(subject: User, action: AuditAction, *, actor, object_id: str = "", **data):
    """An event about the subject's reports, in the caller's transaction."""
    audit_record(
        actor=actor,
        subject=subject,
        action=action,
        object_type="report",
        object_id=object_id,
        data=data,
    )


def _audit_report(subject: User, action: AuditAction, *, actor, object_id: str = "", **data):
    with transaction.atomic(durable=True):
        _report_event(subject, action, actor=actor, object_id=object_id, **data)


# --- the PDF report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportOutcome:
    """Either the PDF (a short history) or the job making it (a long one)."""

    pdf: bytes | None = None
    job: ReportJob | None = None


def report_request(*, subject: User, language: str) -> ReportOutcome:
    """The subject asks for their report: made now, or queued when their history is long."""
    language = check_language(language)
    events = subject_event_count(_pseudonym(subject.pk))
    if events > settings.REPORT_ASYNC_EVENTS:
        job = report_job_request(subject=subject, language=language, events=events)
        return ReportOutcome(job=job)
    return ReportOutcome(pdf=report_generate(subject=subject, language=language))


def report_generate(*, subject: User, language: str) -> bytes:
    """Make the report in this request; audited (REPORT_GENERATED) before it is handed out."""
    document = report_document(subject=subject, language=language)
    pdf = _render(document, subject.pk)
    events = len(document["audit"]["events"])
    _audit_report(
        subject,
        AuditAction.REPORT_GENERATED,
        actor=subject,
        delivery="direct",
        format="pdf",
        language=language,
        events=events,
    )
    return pdf


def report_job_request(*, subject: User, language: str, events: int) -> ReportJob:
    """Queue a report job, or return the one already waiting or running for the subject (a
    second click does not start a second job). A job whose worker died is failed first."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        lock_subject(subject.pk)
        _jobs_stale_fail(subject_id=subject.pk, now=now)
        live = ReportJob.objects.filter(
            subject=subject,
            language=language,
            status__in=[ReportJob.Status.PENDING, ReportJob.Status.RUNNING],
        ).first()
        if live is not None:
            return live
        job = ReportJob.objects.create(
            subject=subject, language=language, events=events, expires_at=now + _ttl()
        )
        audit_record(
            actor=subject,
            subject=subject,
            action=AuditAction.REPORT_REQUESTED,
            object_type="report",
            object_id=str(job.pk),
            data={"language": language, "events": events},
        )
        jobs.enqueue_on_commit(REPORT_JOBS, job.pk)
    return job


def _jobs_stale_fail(*, subject_id: int, now: datetime) -> None:
    """The subject's jobs whose message or worker was lost, failed (audited) at once so that
    the subject can ask again, without waiting for the beat task."""
    jobs.recover(REPORT_JOBS, now=now, scope=Q(subject_id=subject_id))


def report_job_run(*, job_id) -> ReportJob | None:
    """Make a queued report (the Celery task). Claimed by a conditional update, so a second
    delivery does nothing; any failure marks the job failed (audited), never "running"."""
    claim = jobs.claim(REPORT_JOBS, job_id)
    if claim is None:
        return None
    job = claim.row
    progress = jobs.Progress(claim, every=PROGRESS_EVERY)
    try:
        document = report_document(subject=job.subject, language=job.language)
        progress(10)
        pdf = _render(document, job.subject_id, lambda part: progress(10 + 85 * part))
        _job_store(claim, pdf, events=len(document["audit"]["events"]))
    except Exception:
        logger.exception("report job %s failed", job.pk)
        with transaction.atomic(durable=True):
            if jobs.finish(claim, ReportJob.Status.FAILED, error="generation_failed"):
                _failed(job, "generation_failed")
    return ReportJob.objects.filter(pk=job.pk).first()  # None: erased while it ran


def _aad(job_id) -> str:
    return f"report:{job_id}:pdf"


def _job_store(claim: jobs.Claim, pdf: bytes, *, events: int) -> None:
    """Encrypt and store the PDF and mark the job done, audited, in one transaction. If the
    job was erased meanwhile (the account is being erased), nothing is stored."""
    job, now = claim.row, timezone.now()
    with transaction.atomic(durable=True):
        lock_subject(job.subject_id)
        if not jobs.mine(claim).select_for_update().exists():
            return
        blob = inventory.subject_cipher().seal(job.subject_id, pdf, _aad(job.pk))
        name = default_storage.save(f"{REPORT_FOLDER}/{job.pk}.pdf.enc", ContentFile(blob))
        try:
            jobs.finish(
                claim,
                ReportJob.Status.DONE,
                now=now,
                progress=100,
                file=name,
                size=len(pdf),
                events=events,
                expires_at=now + _ttl(),
            )
            _report_event(
                job.subject,
                AuditAction.REPORT_GENERATED,
                actor=None,
                object_id=str(job.pk),
                delivery="job",
                format="pdf",
                language=job.language,
            )
        except BaseException:
            default_storage.delete(name)  # no row points at it: never leave it behind
            raise


def report_job_for(*, subject: User, job_id) -> ReportJob:
    """The subject's own job; anyone else's, or none, is the same "not found"."""
    job = ReportJob.objects.filter(pk=job_id, subject=subject).first()
    if job is None:
        raise NotFound(_("There is no such report."), code="report_not_found")
    return job


def report_job_status(*, subject: User, job_id) -> ReportJob:
    """The subject's job as it stands; one whose worker died is failed first (audited), so
    that a status page never shows "being made" for ever."""
    job = report_job_for(subject=subject, job_id=job_id)
    if job.status in (ReportJob.Status.PENDING, ReportJob.Status.RUNNING):
        with transaction.atomic(durable=True):
            _jobs_stale_fail(subject_id=subject.pk, now=timezone.now())
        job.refresh_from_db()
    return job


def report_job_download(*, subject: User, job_id) -> bytes:
    """The finished PDF, decrypted in memory; audited (REPORT_DOWNLOADED)."""
    job = report_job_for(subject=subject, job_id=job_id)
    if job.status != ReportJob.Status.DONE:
        raise Conflict(
            _("The report is not ready yet."), code="report_not_ready", extra={"status": job.status}
        )
    if job.expires_at <= timezone.now():
        raise NotFound(_("This report has expired. Ask for a new one."), code="report_expired")
    try:
        blob = storage.read(job.file)
        pdf = inventory.subject_cipher().open(subject.pk, blob, _aad(job.pk))
    except (FileNotFoundError, DecryptionError):
        raise NotFound(
            _("This report has expired. Ask for a new one."), code="report_expired"
        ) from None
    _audit_report(subject, AuditAction.REPORT_DOWNLOADED, actor=subject, object_id=str(job.pk))
    return pdf


# --- the portable export ------------------------------------------------------------------------


def _json(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=1, cls=DjangoJSONEncoder).encode()


def export_json(*, subject: User, language: str) -> bytes:
    """The document as JSON (``export.schema.json``); audited (DATA_EXPORTED)."""
    document = report_document(subject=subject, language=check_language(language))
    body = _json(document)
    events = len(document["audit"]["events"])
    _audit_report(subject, AuditAction.DATA_EXPORTED, actor=subject, format="json", events=events)
    return body


def export_zip(*, subject: User, language: str) -> bytes:
    """The JSON export plus every file a store holds for the subject (photos, results),
    decrypted in memory, under ``files/<store>/``; ``export.json`` lists them with their
    SHA-256. Audited (DATA_EXPORTED)."""
    document = report_document(subject=subject, language=check_language(language))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        listed = []
        for store_name, item in inventory.files_all(subject.pk):
            path = f"files/{store_name}/{_SAFE_NAME.sub('_', item.name)}"
            # Photos and videos are compressed already.
            archive.writestr(path, item.data, compress_type=zipfile.ZIP_STORED)
            listed.append(_file_entry(store_name, item, path))
        document["files"] = listed
        archive.writestr("export.json", _json(document))
        archive.writestr("export.schema.json", export_schema())
    events = len(document["audit"]["events"])
    _audit_report(
        subject,
        AuditAction.DATA_EXPORTED,
        actor=subject,
        format="zip",
        events=events,
        files=len(listed),
    )
    return buffer.getvalue()


def _file_entry(store_name: str, item: inventory.StoreFile, path: str) -> dict:
    return {
        "store": store_name,
        "ref": item.ref,
        "path": path,
        "content_type": item.content_type,
        "size": len(item.data),
        "sha256": hashlib.sha256(item.data).hexdigest(),
    }


# --- the store of reports in the inventory ------------------------------------------------------


def reports_locate(subject_id: int) -> list[str]:
    found = []
    for pk, name in ReportJob.objects.filter(subject_id=subject_id).values_list("pk", "file"):
        found.append(f"report:{pk}")
        if name and default_storage.exists(name):
            found.append(f"file:{name}")
    return found


def reports_export(subject_id: int) -> list[dict]:
    return [
        {
            "id": str(job.pk),
            "status": job.status,
            "language": job.language,
            "requested_at": job.requested_at.isoformat(),
            "completed_at": job.completed_at.isoformat() if job.completed_at else None,
            "expires_at": job.expires_at.isoformat(),
            "events": job.events,
        }
        for job in ReportJob.objects.filter(subject_id=subject_id).order_by("requested_at")
    ]


def _jobs_erase(jobs) -> int:
    """Each job's file first, then the row (a file is never left without its row)."""
    erased = 0
    for pk, name in jobs.values_list("pk", "file"):
        if name and default_storage.exists(name):
            default_storage.delete(name)
        erased += ReportJob.objects.filter(pk=pk).delete()[0]
    return erased


def reports_erase(subject_id: int) -> int:
    with transaction.atomic(savepoint=False):
        return _jobs_erase(ReportJob.objects.select_for_update().filter(subject_id=subject_id))


def reports_count(subject_id: int) -> int:
    return ReportJob.objects.filter(subject_id=subject_id).count()


def reports_expired_erase(now: datetime) -> inventory.Swept:
    """Reports past their time, and files no job points at (a process killed between
    writing the file and committing the job) once older than the time a report is kept."""
    with transaction.atomic(savepoint=False):
        erased = _jobs_erase(ReportJob.objects.select_for_update().filter(expires_at__lte=now))
    try:
        _dirs, names = default_storage.listdir(REPORT_FOLDER)
    except FileNotFoundError:
        return inventory.Swept(erased)
    known = set(ReportJob.objects.exclude(file="").values_list("file", flat=True))
    for name in (f"{REPORT_FOLDER}/{n}" for n in names):
        if name not in known and default_storage.get_modified_time(name) < now - _ttl():
            default_storage.delete(name)
            erased += 1
    return inventory.Swept(erased)
