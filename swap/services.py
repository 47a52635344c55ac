"""Every write of the swap app: templates and their records (staff), jobs and their results
(subjects and workers), erasure and retention. Each top-level service audits in its own
transaction (invariant "audited", docs/ARCHITECTURE.md).

A job goes pending → running → done | failed | cancelled. The machinery (queue on commit,
claim token, progress, recovery) is ``compliance_site.jobs``, declared once as ``SWAP_JOBS``;
the rules around it are here:

- ``swap_job_request`` (API) checks the gate, the capture and the template, stores the job (with
  the request's language, which the visible mark is drawn in as well as English) and queues
  ``swap.tasks.swap_job_run`` once the transaction commits.
- ``swap_job_run`` (worker) claims it (``jobs.claim``: 0 rows, someone else has it, or it was
  cancelled or deleted), checks the gate and the template again, opens the capture
  (``biometrics.services.capture_use``: gate, ``last_used_at``, audit, decrypt in memory), runs
  the engine (which labels the output and writes its provenance), encrypts the result under
  the subject's key and marks the job done. Between frames ``should_stop`` looks at the job, the
  template and the gate every few frames; cancellation, withdrawal (the subject's or the
  depicted person's) and erasure stop it there.
- the depicted person's withdrawal (``swap_template_consent_withdraw`` by staff,
  ``swap_template_withdraw_by_secret`` by the person with their withdrawal secret) cancels the
  template's queued and running jobs and erases every result made with it, leaving each owner
  a ``SwapNotice``.
- recovery (``jobs.recover``, the beat task of every kind) re-queues a running job whose
  worker went quiet (SWAP_JOB_RETRIED), or fails it with ``worker_lost`` after
  ``SWAP_MAX_ATTEMPTS`` claims (SWAP_JOB_FAILED), so no job stays "running".

One erase path: ``swap_job_erase`` deletes one job's result file and row in the caller's
transaction; deletion by its subject, the inventory stores (withdrawal, account erasure) and
the retention sweep all call it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import cv2
import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.actions import AuditAction
from audit.closing import check_service_open
from audit.leaves import format_time
from audit.services import SubjectRef, audit_record
from biometrics import vault
from biometrics.analysis import (
    AnalysisError,
    Face,
    FaceAnalyser,
    VideoLimits,
    analyser_in_use,
    decode_image,
    decode_video,
    keypoints_from_68,
    sniff_image,
    sniff_video,
)
from biometrics.models import Capture
from biometrics.selectors import capture_for
from biometrics.services import PURPOSE as BIOMETRIC_PURPOSE
from biometrics.services import (
    CaptureRefused,
    OpenedCapture,
    capture_analyse,
    capture_use,
    liveness_challenge_issue,
    liveness_challenge_use,
    subject_key_for_use,
    subject_key_release,
)
from compliance_site import inventory, jobs, storage
from compliance_site.crypto import DecryptionError
from compliance_site.errors import ApplicationError, Forbidden, NotFound, Unprocessable
from consent.identity.models import User
from consent.ledger.gate import (
    GRANTED,
    ConsentRequired,
    consent_state,
    lock_subject,
    require_consent,
)
from consent.ledger.selectors import active_language
from swap.engines import SwapCancelled, SwapError, get_engine
from swap.engines.label import label_text
from swap.engines.video import DEFAULT_LIMITS as ENGINE_VIDEO_LIMITS
from swap.engines.video import swap_image, swap_video
from swap.models import (
    DepictedPersonConsent,
    DepictedWithdrawalRequest,
    ShareLink,
    SwapJob,
    SwapNotice,
    SwapTemplate,
    TemplateKind,
    TemplateLicence,
)
from swap.selectors import (
    EPHEMERAL_PURPOSE,
    PURPOSE,
    SECRET_ALPHABET,
    SECRET_LENGTH,
    STORAGE_PURPOSE,
    TEMPLATE_REFUSALS,
    TemplateUnavailable,
    c2pa_credentials,
    consent_for_withdrawal_secret,
    notices_expired,
    result_aad,
    results_expired,
    results_of,
    retention_for,
    share_link_for,
    share_link_for_token,
    share_links_expired,
    share_token_digest,
    sharing_allowed,
    swap_job_for,
    swap_jobs_of_template,
    template_refusal,
    template_usable_for,
    withdrawal_secret_digest,
)

logger = logging.getLogger(__name__)

RESULT_FOLDER = "swap_results"
# should_stop reads the job row and the gate on the first frame and then every N frames: two
# indexed queries, a few times a second at the engine's 10-15 frames/s.
STOP_CHECK_EVERY = 5
# Seconds between two progress writes: a clip's frames would otherwise each write the row.
PROGRESS_EVERY = 0.5
SWEEP_BATCH = 500
# A notice that a result was erased stays in the account as long as a result could have been
# kept (output_storage: 30 days).
NOTICE_DAYS = 30
# A result file with no job row this old is a leftover of a worker killed while storing it.
ORPHAN_AGE = timedelta(days=1)
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
POSTER_WIDTH = 480
# What the engines accept (swap.engines.video), decoded here with the analysis package's
# decoder to check an upload before it is stored: a few frames a second are enough for that.
TEMPLATE_VIDEO_LIMITS = VideoLimits(
    max_bytes=ENGINE_VIDEO_LIMITS.max_bytes,
    max_seconds=ENGINE_VIDEO_LIMITS.max_seconds,
    min_seconds=0.2,
    max_long_side=ENGINE_VIDEO_LIMITS.max_long_side,
    max_short_side=ENGINE_VIDEO_LIMITS.max_short_side,
    max_frames=ENGINE_VIDEO_LIMITS.max_frames,
    sample_fps=2.0,
    max_samples=60,
    sample_max_side=640,
)
TEMPLATE_IMAGE_MAX_BYTES = 20 * 1024 * 1024


class TemplateRefused(Unprocessable):
    """An upload that cannot become a template (or a record of one)."""

    code = "template_refused"


class CaptureNotLive(Unprocessable):
    code = "capture_not_live"


def face_engine() -> str:
    """The face engine in use: ``FACE_ENGINE``, a key of ``swap.engines.ENGINES`` (checked at
    start-up, ``swap.checks``). Its analyser is ``analyser_in_use()`` (plugged in by the app)."""
    return settings.FACE_ENGINE


# --- templates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateMedia:
    """A checked template upload: only ``check_template_file`` makes one."""

    data: bytes
    kind: str
    extension: str
    width: int
    height: int
    duration_seconds: float | None
    poster_jpeg: bytes
    sha256: str


@dataclass(frozen=True)
class LicenceTerms:
    source: str
    terms: str
    expires_at: datetime | None  # None: does not expire (e.g. a public-domain work)


@dataclass(frozen=True)
class DepictedConsentTerms:
    person: str  # a name or a reference to the signed form
    document: bytes  # the signed document: PDF, JPEG or PNG
    scope: str
    expires_at: datetime
    # Results made with the template may be shared by link beyond the user who made them.
    sharing_allowed: bool = False


_MEDIA_REFUSALS = {
    "unsupported_image": gettext_lazy("Send a JPEG, PNG or WebP image, or an MP4 or WebM clip."),
    "image_too_large": gettext_lazy("The image is too large."),
    "corrupt_image": gettext_lazy("The image cannot be read: it is damaged or cut short."),
    "unsupported_video": gettext_lazy("Send an MP4 or WebM clip (H.264, VP8, VP9 or MPEG-4)."),
    "video_too_large": gettext_lazy("The clip is too large: at most 200 MB and 1920×1080."),
    "video_too_long": gettext_lazy("The clip is longer than 30 seconds."),
    "video_too_short": gettext_lazy("The clip is too short."),
    "corrupt_video": gettext_lazy("The clip cannot be read: it is damaged or cut short."),
    "no_template_face": gettext_lazy("No face was found in it: a template needs one face."),
}


def _media_refused(code: str) -> TemplateRefused:
    return TemplateRefused(str(_MEDIA_REFUSALS[code]), extra={"reason": code})


def check_template_file(data: bytes) -> TemplateMedia:
    """Decode an uploaded template (an image, or a clip of at most 30 s) with the analysis
    package's safe decoders, find a face in it and make its poster. ``TemplateRefused`` (422,
    ``reason`` = the decoder's code, or ``no_template_face``) when it cannot be used."""
    if sniff_video(data) is not None:
        return _check_template_video(data)
    image_format = sniff_image(data)
    if image_format is None:
        raise _media_refused("unsupported_image")
    try:
        image = decode_image(data, max_bytes=TEMPLATE_IMAGE_MAX_BYTES)
    except AnalysisError as exc:
        raise _media_refused(exc.code) from None
    if not analyser_in_use().detect(image):
        raise _media_refused("no_template_face")
    extension = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[image_format]
    height, width = image.shape[:2]
    return _media(data, TemplateKind.IMAGE, extension, width, height, None, image)


def _check_template_video(data: bytes) -> TemplateMedia:
    try:
        video = decode_video(data, TEMPLATE_VIDEO_LIMITS)
    except AnalysisError as exc:
        raise _media_refused(exc.code) from None
    analyser = analyser_in_use()
    poster = next((frame for frame in video.frames if analyser.detect(frame)), None)
    if poster is None:
        raise _media_refused("no_template_face")
    extension = "webm" if sniff_video(data) == "matroska" else "mp4"
    return _media(
        data, TemplateKind.VIDEO, extension, video.width, video.height, video.duration, poster
    )


def _media(
    data: bytes,
    kind: str,
    extension: str,
    width: int,
    height: int,
    duration: float | None,
    still: np.ndarray,
) -> TemplateMedia:
    scale = min(1.0, POSTER_WIDTH / still.shape[1])
    small = cv2.resize(still, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, poster = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:  # pragma: no cover - OpenCV encodes any decoded BGR image
        raise RuntimeError("JPEG encoding failed")
    return TemplateMedia(
        data=data,
        kind=kind,
        extension=extension,
        width=int(width),
        height=int(height),
        duration_seconds=None if duration is None else round(float(duration), 3),
        poster_jpeg=poster.tobytes(),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def check_licence_terms(licence: LicenceTerms, *, now: datetime) -> None:
    if not licence.source.strip() or not licence.terms.strip():
        raise TemplateRefused(
            _("A licence needs its source and its terms."), code="licence_incomplete"
        )
    if licence.expires_at is not None and licence.expires_at <= now:
        raise TemplateRefused(_("This licence has already expired."), code="licence_expired")


def check_depicted_consent_terms(consent: DepictedConsentTerms, *, now: datetime) -> str:
    """Check a depicted person's consent record; returns the signed document's extension."""
    if not consent.person.strip() or not consent.scope.strip():
        raise TemplateRefused(
            _("The consent needs the person (a name or a reference) and its scope."),
            code="depicted_consent_incomplete",
        )
    if consent.expires_at <= now:
        raise TemplateRefused(
            _("This consent has already expired."), code="depicted_consent_expired"
        )
    document = consent.document
    if not document or len(document) > DOCUMENT_MAX_BYTES:
        raise TemplateRefused(
            _("The signed document must be a file of at most 10 MB."), code="document_refused"
        )
    if document.startswith(b"%PDF-"):
        return "pdf"
    kind = sniff_image(document)
    if kind in {"JPEG", "PNG"}:
        return {"JPEG": "jpg", "PNG": "png"}[kind]
    raise TemplateRefused(
        _("The signed document must be a PDF, JPEG or PNG file."), code="document_refused"
    )


def swap_template_add(
    *,
    title: str,
    media: TemplateMedia,
    licence: LicenceTerms,
    consent: DepictedConsentTerms,
    actor: User | None,
) -> SwapTemplate:
    """Add a template with its licence and the depicted person's consent (staff, in the
    admin). The file is stored as uploaded (it is not subject data); written inside the
    transaction and deleted again if anything fails."""
    now = timezone.now()
    if not title.strip():
        raise TemplateRefused(_("A template needs a title."), code="title_missing")
    check_licence_terms(licence, now=now)
    document_extension = check_depicted_consent_terms(consent, now=now)
    template = SwapTemplate(id=uuid.uuid4(), title=title.strip(), created_at=now)
    written: list[str] = []
    try:
        with transaction.atomic(durable=True):
            _template_files_save(template, media, written)
            template.save()
            audit_record(
                actor=actor,
                subject=None,
                action=AuditAction.SWAP_TEMPLATE_ADDED,
                object_type="swap_template",
                object_id=str(template.pk),
                data={"kind": media.kind, "sha256": media.sha256, "bytes": len(media.data)},
            )
            _licence_record(template, licence, actor, now)
            _consent_record(template, consent, document_extension, actor, now, written)
    except BaseException:
        _files_delete(written)
        raise
    return template


def _template_files_save(template: SwapTemplate, media: TemplateMedia, written: list[str]) -> None:
    template.kind = media.kind
    template.sha256, template.size_bytes = media.sha256, len(media.data)
    template.width, template.height = media.width, media.height
    template.duration_seconds = media.duration_seconds
    template.file.save(f"{template.pk}.{media.extension}", ContentFile(media.data), save=False)
    written.append(template.file.name)
    template.poster.save(f"{template.pk}.poster.jpg", ContentFile(media.poster_jpeg), save=False)
    written.append(template.poster.name)


def _files_delete(names: list[str]) -> None:
    for name in names:
        if name and default_storage.exists(name):
            default_storage.delete(name)


def _licence_record(
    template: SwapTemplate, licence: LicenceTerms, actor: User | None, now: datetime
) -> TemplateLicence:
    row = TemplateLicence.objects.create(
        template=template,
        source=licence.source.strip(),
        terms=licence.terms.strip(),
        expires_at=licence.expires_at,
        recorded_at=now,
    )
    template.licence = row
    template.save(update_fields=["licence"])
    audit_record(
        actor=actor,
        subject=None,
        action=AuditAction.SWAP_TEMPLATE_LICENCE_RECORDED,
        object_type="swap_template",
        object_id=str(template.pk),
        data={"licence": row.pk, "expires_at": _iso(licence.expires_at)},
    )
    return row


def _consent_record(
    template: SwapTemplate,
    consent: DepictedConsentTerms,
    extension: str,
    actor: User | None,
    now: datetime,
    written: list[str],
) -> DepictedPersonConsent:
    secret, digest = _withdrawal_secret_new()
    row = DepictedPersonConsent(
        template=template,
        person=consent.person.strip(),
        scope=consent.scope.strip(),
        sharing_allowed=consent.sharing_allowed,
        expires_at=consent.expires_at,
        recorded_at=now,
        withdrawal_digest=digest,
    )
    row.document.save(
        f"{template.pk}.{uuid.uuid4().hex[:8]}.{extension}",
        ContentFile(consent.document),
        save=False,
    )
    written.append(row.document.name)
    row.save()
    template.depicted_consent = row
    template.save(update_fields=["depicted_consent"])
    # The depicted person's name stays out of the log: the record's id points at it.
    audit_record(
        actor=actor,
        subject=None,
        action=AuditAction.SWAP_TEMPLATE_CONSENT_RECORDED,
        object_type="swap_template",
        object_id=str(template.pk),
        data={
            "consent": row.pk,
            "expires_at": _iso(consent.expires_at),
            "sharing_allowed": consent.sharing_allowed,
        },
    )
    row.withdrawal_secret = secret  # shown once to the DPO, never stored
    return row


def swap_template_consent_secret_issue(
    *, consent: DepictedPersonConsent, actor: User | None
) -> DepictedPersonConsent:
    """Issue a new withdrawal secret for a consent in force (a lost secret, or a record made
    before secrets existed); the previous one stops working. The returned row carries the
    secret for the one page that shows it. A withdrawn consent has nothing left to withdraw."""
    secret, digest = _withdrawal_secret_new()
    with transaction.atomic(durable=True):
        row = DepictedPersonConsent.objects.select_for_update().get(pk=consent.pk)
        if row.withdrawn_at is not None:
            raise TemplateRefused(
                _("This consent is withdrawn: it needs no withdrawal secret."),
                code="depicted_consent_withdrawn",
            )
        row.withdrawal_digest = digest
        row.save(update_fields=["withdrawal_digest"])
        audit_record(
            actor=actor,
            subject=None,
            action=AuditAction.SWAP_TEMPLATE_CONSENT_SECRET_ISSUED,
            object_type="swap_template",
            object_id=str(row.template_id),
            data={"consent": row.pk},
        )
    row.withdrawal_secret = secret
    return row


def _withdrawal_secret_new() -> tuple[str, str]:
    """A random withdrawal secret (140 bits) in groups of four, to be read aloud or typed, and
    the keyed digest it is stored as."""
    typed = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    secret = "-".join(typed[start : start + 4] for start in range(0, SECRET_LENGTH, 4))
    digest = withdrawal_secret_digest(secret)
    assert digest is not None  # a secret made here always has the secret's form
    return secret, digest


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def swap_template_licence_record(
    *, template: SwapTemplate, licence: LicenceTerms, actor: User | None
) -> TemplateLicence:
    """Record a new licence for a template (a renewal, or new terms); it replaces the one in
    force, which stays on record."""
    now = timezone.now()
    check_licence_terms(licence, now=now)
    with transaction.atomic(durable=True):
        locked = SwapTemplate.objects.select_for_update().get(pk=template.pk)
        return _licence_record(locked, licence, actor, now)


def check_template_picture_kept(template: SwapTemplate) -> None:
    """A template whose picture went with its depicted person's withdrawal takes no new consent
    (``template_erased``): the person's face is gone; a new template starts again."""
    if not template.file:
        raise TemplateRefused(
            _(
                "This template's picture was erased when the person in it withdrew: add it "
                "again as a new template."
            ),
            code="template_erased",
        )


def swap_template_consent_record(
    *, template: SwapTemplate, consent: DepictedConsentTerms, actor: User | None
) -> DepictedPersonConsent:
    """Record the depicted person's (new or renewed) consent to face editing, with the signed
    document; it replaces the one in force, which stays on record."""
    now = timezone.now()
    extension = check_depicted_consent_terms(consent, now=now)
    written: list[str] = []
    try:
        with transaction.atomic(durable=True):
            locked = SwapTemplate.objects.select_for_update().get(pk=template.pk)
            check_template_picture_kept(locked)
            return _consent_record(locked, consent, extension, actor, now, written)
    except BaseException:
        _files_delete(written)
        raise


@dataclass(frozen=True)
class DepictedWithdrawal:
    """What a depicted person's withdrawal did (or, already withdrawn, nothing: all zero)."""

    template: SwapTemplate
    stopped: int  # running jobs on the template, stopped before their next frames
    cancelled: int  # queued jobs on the template, cancelled before they ran
    erased: int  # results made with the template, erased (every subject's)
    notified: int  # owners left a notice saying why their result is gone


class WithdrawalSecretRefused(Forbidden):
    code = "withdrawal_secret_refused"


def swap_template_consent_withdraw(
    *, consent: DepictedPersonConsent, actor: User | None
) -> DepictedPersonConsent:
    """Staff record that the depicted person withdrew their consent (the admin action): the
    same withdrawal as the person's own with their secret (``swap_template_withdraw_by_secret``):
    every open consent record of the template's person closes, whichever was chosen, and
    everything made with the template goes. Idempotent."""
    with transaction.atomic(durable=True):
        _template_withdraw(consent.template_id, actor=actor, by="staff")
    return DepictedPersonConsent.objects.get(pk=consent.pk)


def swap_withdrawal_request_log(
    *, template: SwapTemplate, received_at: datetime, channel: str, note: str, actor: User | None
) -> DepictedWithdrawalRequest:
    """Staff log a depicted person's withdrawal that reached them (a letter, an email, a call)
    with when it arrived, which starts its one-month deadline; they carry it out with
    ``swap_withdrawal_request_carry_out``. Refused for an arrival in the future, or a template
    with no consent in force (nothing left to withdraw)."""
    with transaction.atomic(durable=True):
        SwapTemplate.objects.select_for_update().get(pk=template.pk)
        check_withdrawal_request(template, received_at, now=timezone.now())
        row = DepictedWithdrawalRequest.objects.create(
            template=template, requested_at=received_at, channel=channel, note=note
        )
        audit_record(
            actor=actor,
            subject=None,
            action=AuditAction.SWAP_DEPICTED_WITHDRAWAL_REQUEST_LOGGED,
            object_type="swap_withdrawal_request",
            object_id=str(row.pk),
            data={
                "template": str(template.pk),
                "received_at": format_time(received_at),
                "channel": channel,
            },
        )
    return row


def check_withdrawal_request(template: SwapTemplate, received_at: datetime, *, now) -> None:
    """The checks of ``swap_withdrawal_request_log``, also run by the admin's form."""
    # mutant: delete — tests/swap/test_withdrawal_requests.py
    #   test_a_request_received_in_the_future_is_a_form_error
    if received_at > now:
        raise Unprocessable(
            _("A request cannot have arrived in the future."), code="received_in_future"
        )
    if not DepictedPersonConsent.objects.filter(
        template_id=template.pk, withdrawn_at__isnull=True
    ).exists():
        raise TemplateRefused(
            _("This template's consent is withdrawn already: there is nothing to carry out."),
            code="depicted_consent_withdrawn",
        )


def swap_withdrawal_request_carry_out(
    *, request: DepictedWithdrawalRequest, actor: User | None
) -> DepictedWithdrawal:
    """Carry out a logged withdrawal request: the withdrawal staff record
    (``swap_template_consent_withdraw``), which closes the request in its own transaction.
    Idempotent."""
    with transaction.atomic(durable=True):
        return _template_withdraw(request.template_id, actor=actor, by="staff")


def swap_template_withdraw_by_secret(*, secret: str) -> DepictedWithdrawal:
    """The depicted person withdraws with the secret they were handed, without an account.
    A wrong, malformed or used secret is one refusal (403 ``withdrawal_secret_refused``), audited
    without anything about the caller (invariant "no-oracle", docs/ARCHITECTURE.md)."""
    with transaction.atomic(durable=True):
        row = consent_for_withdrawal_secret(secret)
        if row is not None:
            # Read again under the template's lock, taken first as every withdrawal takes it:
            # a withdrawal that committed meanwhile has used the secret.
            SwapTemplate.objects.select_for_update().filter(pk=row.template_id).first()
            row = consent_for_withdrawal_secret(secret, lock=True)
        if row is None:
            depicted_withdrawal_refused(reason="secret_refused")
            outcome = None
        else:
            outcome = _template_withdraw(row.template_id, actor=None, by="depicted_person")
    if outcome is None:
        raise WithdrawalSecretRefused(
            _("This withdrawal secret is not valid, or it has been used already.")
        )
    return outcome


def depicted_withdrawal_refused(*, reason: str) -> None:
    """Audit a refused attempt at the public withdrawal (a wrong or used secret, or too many
    attempts from one network), in the caller's transaction or its own; nothing about the
    caller is recorded."""
    with transaction.atomic(savepoint=False):
        audit_record(
            actor=None,
            subject=None,
            action=AuditAction.SWAP_DEPICTED_WITHDRAWAL_REFUSED,
            data={"reason": reason},
        )


def _template_withdraw(template_id: Any, *, actor: User | None, by: str) -> DepictedWithdrawal:
    """Withdraw every open consent record of the template's depicted person and everything
    made with their face, in the caller's transaction, with one audit event counting it all.

    Order: the template's row is locked first (result storing takes it after the subject's,
    so the two cannot deadlock), then its consent records are marked withdrawn (from here on
    the template is refused at request, claim, between frames and at storing), then queued
    and running jobs are cancelled (a running one stops before its next frames), then each
    result is erased with a notice to its owner."""
    now = timezone.now()
    template = SwapTemplate.objects.select_for_update().get(pk=template_id)
    open_rows = DepictedPersonConsent.objects.select_for_update().filter(
        template_id=template_id, withdrawn_at__isnull=True
    )
    consents = sorted(open_rows.values_list("pk", flat=True))
    # Requests that reached staff are answered by this withdrawal, whoever makes it.
    waiting = DepictedWithdrawalRequest.objects.filter(
        template_id=template_id, completed_at__isnull=True
    )
    requests = sorted(waiting.values_list("pk", flat=True))
    if not consents and not requests:
        return DepictedWithdrawal(template, 0, 0, 0, 0)
    DepictedPersonConsent.objects.filter(pk__in=consents).update(withdrawn_at=now)
    # mutant: delete — tests/swap/test_withdrawal_requests.py
    #   test_a_request_carried_out_on_time_is_closed_and_audited
    DepictedWithdrawalRequest.objects.filter(pk__in=requests).update(completed_at=now)
    counts = {"stopped": 0, "cancelled": 0, "erased": 0}
    owners: set[int] = set()
    for job in swap_jobs_of_template(template_id, statuses=SwapJob.ACTIVE):
        counts["stopped" if job.status == SwapJob.Status.RUNNING else "cancelled"] += 1
        # mutant: delete — tests/swap/test_depicted_withdrawal.py
        #   test_a_running_clip_stops_between_frames_when_the_depicted_person_withdraws
        #   test_queued_jobs_of_every_subject_are_cancelled_and_never_run
        _cancel(job, reason=WITHDRAWN, actor=None)
    for job in swap_jobs_of_template(template_id, statuses=(SwapJob.Status.DONE,)):
        # mutant: delete — tests/swap/test_depicted_withdrawal.py
        #   test_results_of_two_subjects_are_erased_and_each_owner_is_told_why
        counts["erased"] += _result_withdrawn_erase(job, template, now)
        owners.add(job.subject_id)
    # mutant: delete — tests/swap/test_depicted_withdrawal.py
    #   test_the_depicted_withdrawal_destroys_a_key_its_erasure_left_with_nothing_to_open
    for owner in sorted(owners):
        _key_release_unless_busy(owner)
    # Their face goes too: the template's picture and its poster (the row stays, naming the
    # template for the owners' notices; the signed consent records stay as evidence).
    # mutant: delete — tests/swap/test_depicted_withdrawal_face_kept.py
    #   test_the_depicted_persons_picture_is_erased_when_they_withdraw
    _template_picture_erase(template)
    audit_record(
        actor=actor,
        subject=None,
        action=AuditAction.SWAP_TEMPLATE_CONSENT_WITHDRAWN,
        object_type="swap_template",
        object_id=str(template_id),
        data={
            "consents": consents,
            "by": by,
            **counts,
            "notified": len(owners),
            "requests": requests,
        },
    )
    return DepictedWithdrawal(template, notified=len(owners), **counts)


WITHDRAWN = "depicted_consent_withdrawn"


def _template_picture_erase(template: SwapTemplate) -> None:
    """Delete the template's picture and poster at once (files first, as ``swap_job_erase``)
    and blank their names: the template can never be used again."""
    _files_delete([template.file.name, template.poster.name])
    SwapTemplate.objects.filter(pk=template.pk).update(file="", poster="")
    template.file.name, template.poster.name = "", ""


def _key_release_unless_busy(subject_id: int) -> None:
    """The owner's data key goes now if the erased result was the last thing it opened (the
    policy text: destroyed as soon as nothing encrypted with it is kept). The owner's row is
    locked without waiting, as the sweep does: a result being stored holds it and waits on the
    template this withdrawal holds, so a busy owner is left to the sweep's ``KEYS`` rule."""
    mine = User.objects.select_for_update(skip_locked=True).filter(pk=subject_id)
    if mine.values_list("pk", flat=True).first() is not None:
        subject_key_release(subject_id=subject_id, actor=None, reason=WITHDRAWN)


def _result_withdrawn_erase(job: SwapJob, template: SwapTemplate, now: datetime) -> int:
    """Erase one result made with a withdrawn template and leave its owner a notice, audited
    as an event about the owner (naming the notice, not the depicted person)."""
    notice = SwapNotice.objects.create(
        subject_id=job.subject_id,
        template=template,
        reason=SwapNotice.Reason.DEPICTED_CONSENT_WITHDRAWN,
        swap_requested_at=job.created_at,
        created_at=now,
        expires_at=now + timedelta(days=NOTICE_DAYS),
    )
    erased = swap_job_erase(job=job)
    _audit(job, AuditAction.SWAP_RESULT_ERASED, reason=WITHDRAWN, notice=notice.pk)
    return erased


# --- requesting a job ---------------------------------------------------------------------------


def _mark_words(language: str) -> str:
    """The visible mark's words on a result asked for in ``language``: English, and the
    language's own when it is another ("AI-generated·AI 生成")."""
    with translation.override(language):
        return label_text(_("AI-generated"))


def check_capture_live(capture: Capture) -> None:
    if not (capture.liveness or {}).get("passed"):
        raise CaptureNotLive(
            _("This capture did not pass the liveness check: enrol your face again.")
        )


def swap_job_request(*, subject: User, capture_id: Any, template_id: Any) -> SwapJob:
    """Ask for a swap of the subject's capture into a template. Refused, with nothing stored:
    without face_swap consent (403), another subject's or an unknown capture (404), a capture
    whose liveness check failed (422), an unknown (404) or unusable (422) template. The job is
    queued when the transaction commits. Refused in closing mode (403 ``service_closing``)."""
    now = timezone.now()
    # mutant: delete — tests/erasure/test_wind_down.py
    #   test_closing_mode_refuses_sign_up_captures_and_swaps_and_shows_a_banner
    check_service_open()
    with transaction.atomic(durable=True):
        # mutant: delete — tests/swap/test_jobs_api.py
        #   test_a_swap_is_refused_without_face_swap_consent_and_nothing_is_stored
        require_consent(subject=subject, purpose=PURPOSE, lock=True)
        # The capture is kept under biometric_enrolment to be used in swaps: a new text of it,
        # not yet agreed to, stops its use (as ``capture_use`` checks again when the job runs).
        # mutant: delete — tests/swap/test_jobs_api.py
        #   test_a_capture_is_not_used_while_its_enrolment_consent_is_outdated
        require_consent(subject=subject, purpose=BIOMETRIC_PURPOSE)
        capture = capture_for(subject=subject, capture_id=capture_id)
        check_capture_live(capture)
        template = template_usable_for(template_id, now=now)
        job = SwapJob.objects.create(
            subject=subject,
            capture=capture,
            template=template,
            kind=template.kind,
            language=active_language(),
            created_at=now,
            expires_at=now + retention_for(PURPOSE),
        )
        audit_record(
            actor=subject,
            subject=subject,
            action=AuditAction.SWAP_JOB_REQUESTED,
            object_type="swap_job",
            object_id=str(job.pk),
            purpose=PURPOSE,
            data={
                "capture": str(capture.pk),
                "template": str(template.pk),
                "licence": template.licence_id,
                "depicted_consent": template.depicted_consent_id,
            },
        )
        jobs.enqueue_on_commit(SWAP_JOBS, job.pk)
    return job


def _requeued(job: SwapJob) -> None:
    _audit(job, AuditAction.SWAP_JOB_RETRIED, attempts=job.attempts, reason=jobs.WORKER_LOST)


def _failed(job: SwapJob, reason: str) -> None:
    _audit(job, AuditAction.SWAP_JOB_FAILED, reason=reason)


SWAP_JOBS = jobs.register(
    jobs.JobKind(
        name="swap.jobs",
        model=SwapJob,
        task="swap.tasks.swap_job_run",
        stale_after=lambda: timedelta(seconds=settings.SWAP_STALE_AFTER),
        max_attempts=lambda: settings.SWAP_MAX_ATTEMPTS,
        claim_field="claim",
        attempts="attempts",
        select_related=("template__licence", "template__depicted_consent"),
        on_requeued=_requeued,
        on_failed=_failed,
    )
)


# --- running a job ------------------------------------------------------------------------------


class _Stopped(Exception):
    """The job must end now, as ``status`` with ``reason`` (raised between the engine's steps)."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def swap_job_run(*, job_id: Any) -> SwapJob | None:
    """Run a job (the worker's side). Returns the job as it ended, or None when there was
    nothing to do: unknown, already claimed, finished, cancelled or deleted. Every outcome but
    a crash of the process ends the job with a status and an audit event."""
    job = swap_job_claim(job_id=job_id)
    if job is None:
        return None
    try:
        output = _render(job)
        _result_store(job, output)
    except _Stopped as stop:
        _job_end(job, stop.status, stop.reason)
    except SwapCancelled:
        _job_end(job, SwapJob.Status.CANCELLED, _stop_reason(job) or "cancelled")
    except SwapError as exc:
        _job_end(job, SwapJob.Status.FAILED, exc.code)
    except ConsentRequired as refusal:
        _job_end(job, SwapJob.Status.CANCELLED, refusal.code)
    except NotFound:
        _job_end(job, SwapJob.Status.FAILED, "capture_deleted")
    except DecryptionError:
        _job_end(job, SwapJob.Status.FAILED, "capture_unreadable")
    except SoftTimeLimitExceeded:
        _job_end(job, SwapJob.Status.FAILED, "time_limit")
    except Exception:
        logger.exception("swap job %s failed", job.pk)
        _job_end(job, SwapJob.Status.FAILED, "internal_error")
    return SwapJob.objects.filter(pk=job.pk).first()


def swap_job_claim(*, job_id: Any) -> SwapJob | None:
    """Take a pending job (conditional update: 0 rows means there is nothing to take) and check
    the gate, the capture and the template again, in one transaction with its audit event. A
    job refused here ends at once (cancelled without consent, failed without a usable
    template or its capture).

    The subject's row is locked before the job's, the order withdrawals and erasures take."""
    try:
        key = uuid.UUID(str(job_id))
    except ValueError:
        return None
    now = timezone.now()
    with transaction.atomic(durable=True):
        pending = SwapJob.objects.filter(pk=key, status=SwapJob.Status.PENDING)
        subject_id = pending.values_list("subject_id", flat=True).first()
        if subject_id is None:
            return None
        state = consent_state(subject=subject_id, purpose=PURPOSE, lock=True)
        claim = jobs.claim(SWAP_JOBS, key)
        if claim is None:
            return None
        job = claim.row
        refused = _claim_refusal(job, state, now)
        # mutant: negate — tests/swap/test_jobs_lifecycle.py
        #   test_a_job_whose_consent_is_outdated_when_claimed_is_cancelled_without_running
        if refused is not None:
            _end(job, *refused, now=now)
            return None
        _audit(job, AuditAction.SWAP_JOB_STARTED, attempt=job.attempts, engine=face_engine())
    return job


def _claim_refusal(job: SwapJob, consent: str, now: datetime) -> tuple[str, str] | None:
    # mutant: delete — tests/swap/test_jobs_lifecycle.py
    #   test_a_job_whose_consent_is_outdated_when_claimed_is_cancelled_without_running
    if consent != GRANTED:
        return SwapJob.Status.CANCELLED, consent
    reason = template_refusal(job.template, now)
    # mutant: delete — tests/swap/test_jobs_lifecycle.py
    #   test_a_job_on_a_template_whose_depicted_consent_expired_while_queued_fails_when_claimed
    if reason is not None:
        return SwapJob.Status.FAILED, reason
    # mutant: delete — tests/swap/test_jobs_lifecycle.py
    #   test_a_job_whose_capture_was_deleted_while_queued_fails_with_a_reason
    if job.capture_id is None:
        return SwapJob.Status.FAILED, "capture_deleted"
    return None


def _render(job: SwapJob) -> bytes:
    """The labelled output, in memory. Order: the capture is opened (gate, last use, audit)
    only once the job holds its claim; the template file is read as stored."""
    opened = capture_use(subject=job.subject, capture_id=job.capture_id, purpose=PURPOSE)
    analyser = analyser_in_use()
    try:
        source = decode_image(opened.photo_jpeg)
    except AnalysisError as exc:
        raise SwapError("capture_unreadable", exc.message) from None
    face = _source_face(opened, source, analyser)
    del opened
    engine, credentials = get_engine(face_engine()), c2pa_credentials()
    common: dict[str, Any] = {
        "job_id": str(job.pk),
        "created": timezone.now(),
        "c2pa_credentials": credentials,
        "label": _mark_words(job.language),
    }
    target = _template_bytes(job.template)
    if job.kind == TemplateKind.IMAGE:
        return swap_image(source, face, target, engine, analyser, **common)
    return swap_video(
        source,
        face,
        target,
        engine,
        analyser,
        on_progress=jobs.Progress(jobs.Claim.of(SWAP_JOBS, job), every=PROGRESS_EVERY),
        should_stop=_Watch(job),
        **common,
    )


def _source_face(opened: OpenedCapture, image: np.ndarray, analyser: FaceAnalyser) -> Face:
    """The capture's face, rebuilt from its stored landmarks and embedding when the current
    engine made them (no second detection); else found again in the photo."""
    return _face_from(opened.landmarks, opened.embedding, opened.capture.engine, image, analyser)


def _face_from(
    points: np.ndarray,
    embedding: np.ndarray,
    made_by: str,
    image: np.ndarray,
    analyser: FaceAnalyser,
) -> Face:
    """A face rebuilt from landmarks and an embedding the current engine made (no second
    detection); else found again in the photo."""
    if made_by == analyser.name and points.shape in {(68, 2), (5, 2)}:
        x0, y0 = np.floor(points.min(axis=0)).astype(int)
        x1, y1 = np.ceil(points.max(axis=0)).astype(int)
        full = points.shape == (68, 2)
        return Face(
            box=(int(x0), int(y0), int(x1), int(y1)),
            kps=keypoints_from_68(points) if full else points.astype(np.float32),
            landmarks=points.astype(np.float32) if full else None,
            embedding=embedding,
            score=1.0,
        )
    faces = analyser.detect(image)
    if not faces:
        raise SwapError("no_source_face", "no face was found in the capture's photo")
    return faces[0]


def _template_bytes(template: SwapTemplate) -> bytes:
    try:
        return storage.read(template.file.name)  # in memory only, from the folder or bucket
    except OSError:
        raise SwapError("template_unreadable", "the template file cannot be read") from None


class _Watch:
    """``should_stop`` for the engine: on the first frame and every STOP_CHECK_EVERY frames,
    re-read the job (cancelled, deleted, claim taken over, capture gone), the template (the
    depicted person's consent withdrawn or expired, the licence expired) and the gate."""

    def __init__(self, job: SwapJob):
        self.job = job
        self.frames = 0

    def __call__(self) -> bool:
        self.frames += 1
        if (self.frames - 1) % STOP_CHECK_EVERY:
            return False
        return bool(_stop_reason(self.job))


def _stop_reason(job: SwapJob) -> str:
    """Why the job should stop now; empty if it should go on."""
    row = SwapJob.objects.filter(pk=job.pk).values_list("status", "claim", "capture_id").first()
    if row is None:
        return "deleted"
    status, claim, capture_id = row
    # mutant: delete — tests/swap/test_jobs_lifecycle.py
    #   test_the_subject_cancelling_a_running_clip_stops_it_between_frames
    if status != SwapJob.Status.RUNNING:
        return status
    # mutant: delete — tests/swap/test_jobs_lifecycle.py
    #   test_a_worker_whose_claim_was_taken_over_mid_clip_stops_between_frames
    if claim != job.claim:
        return "claim_lost"
    # mutant: delete — tests/swap/test_jobs_lifecycle.py
    #   test_deleting_the_capture_while_a_clip_runs_stops_it_between_frames
    if capture_id is None:
        return "capture_deleted"
    template = SwapTemplate.objects.select_related("licence", "depicted_consent")
    refusal = template_refusal(template.get(pk=job.template_id), timezone.now())
    # mutant: negate — tests/swap/test_depicted_withdrawal.py
    #   test_a_running_clip_stops_between_frames_when_the_depicted_consent_expires
    if refusal is not None:
        return refusal
    enrolment = consent_state(subject=job.subject_id, purpose=BIOMETRIC_PURPOSE)
    # mutant: delete — tests/swap/test_jobs_lifecycle.py
    #   test_a_biometric_text_published_while_a_clip_runs_stops_it_and_keeps_no_result
    if enrolment != GRANTED:
        return enrolment
    state = consent_state(subject=job.subject_id, purpose=PURPOSE)
    # mutant: delete — tests/swap/test_jobs_lifecycle.py
    #   test_a_policy_published_while_a_clip_runs_stops_it_between_frames
    return "" if state == GRANTED else state


def _result_store(job: SwapJob, output: bytes) -> None:
    """Encrypt the output under the subject's key (AAD naming the job) and mark the job done.

    Checked again with the subject's row locked (the lock withdrawals take): the gate, that the
    template is still usable (its row locked: the depicted person's withdrawal), and that the
    job is still this worker's and running. The file is written inside the transaction and
    deleted if anything fails, so no result outlives its job row."""
    written: list[str] = []
    try:
        with transaction.atomic(durable=True):
            # mutant: delete — tests/swap/test_jobs_lifecycle.py
            #   test_a_policy_published_during_the_last_frame_keeps_no_result
            require_consent(subject=job.subject_id, purpose=PURPOSE, lock=True)
            # mutant: delete — tests/swap/test_jobs_lifecycle.py
            #   test_a_biometric_text_published_during_a_stills_frame_keeps_no_result
            require_consent(subject=job.subject_id, purpose=BIOMETRIC_PURPOSE)
            # The template before the job: the order a depicted person's withdrawal locks them.
            refusal = _template_refusal_locked(job.template_id)
            claim = jobs.Claim.of(SWAP_JOBS, job)
            current = jobs.mine(claim).select_for_update().first()
            if current is None:
                return  # cancelled, deleted or taken over meanwhile: the output is dropped
            if current.capture_id is None:
                raise _Stopped(SwapJob.Status.CANCELLED, "capture_deleted")
            # mutant: delete — tests/swap/test_depicted_withdrawal.py
            #   test_an_image_whose_depicted_consent_expires_while_it_is_made_is_never_stored
            if refusal is not None:
                raise _Stopped(SwapJob.Status.CANCELLED, refusal)
            key = vault.subject_key(job.subject_id)
            sealed = vault.seal_segmented(key, output, aad=result_aad(job.pk))
            written.append(vault.blob_save(f"{RESULT_FOLDER}/{job.pk}.result", sealed))
            _done(claim, current, written[0], len(output))
    except BaseException:
        for name in written:
            vault.blob_delete(name)
        raise


def _template_refusal_locked(template_id: Any) -> str | None:
    """The template's refusal, read with its row locked (the lock a depicted person's
    withdrawal takes first): a withdrawal either committed before, or waits and then finds
    the job done and erases its result."""
    SwapTemplate.objects.select_for_update().filter(pk=template_id).first()
    template = SwapTemplate.objects.select_related("licence", "depicted_consent")
    return template_refusal(template.get(pk=template_id), timezone.now())


def _done(claim: jobs.Claim, job: SwapJob, name: str, size: int) -> None:
    now = timezone.now()
    stored = consent_state(subject=job.subject_id, purpose=STORAGE_PURPOSE) == GRANTED
    done = {
        "progress": 100,
        "error": "",
        "result": name,
        "result_bytes": size,
        "result_c2pa": c2pa_credentials() is not None,
        "stored": stored,
        "expires_at": now + retention_for(STORAGE_PURPOSE if stored else PURPOSE),
    }
    jobs.finish(claim, SwapJob.Status.DONE, now=now, **done)
    for field, value in done.items():
        setattr(job, field, value)
    _audit(
        job,
        AuditAction.SWAP_JOB_DONE,
        engine=face_engine(),
        result=job.media_type,
        bytes=size,
        c2pa=job.result_c2pa,
        stored=stored,
        expires_at=job.expires_at.isoformat(),
    )


def _job_end(job: SwapJob, status: str, reason: str) -> None:
    with transaction.atomic(durable=True):
        _end(job, status, reason, now=timezone.now())


def _end(job: SwapJob, status: str, reason: str, *, now: datetime) -> bool:
    """End this worker's claim of a running job as ``status``, audited; does nothing if the
    job was cancelled, deleted or taken over meanwhile (its end is already recorded)."""
    ended = jobs.finish(jobs.Claim.of(SWAP_JOBS, job), status, now=now, error=reason)
    if ended:
        action = (
            AuditAction.SWAP_JOB_FAILED
            if status == SwapJob.Status.FAILED
            else AuditAction.SWAP_JOB_CANCELLED
        )
        _audit(job, action, reason=reason)
    return bool(ended)


def _audit(job: SwapJob, action: AuditAction, *, actor: User | None = None, **data: Any) -> None:
    """An event about ``job``; the worker's own steps have no actor (``system``)."""
    audit_record(
        actor=actor,
        subject=SubjectRef(job.subject_id),
        action=action,
        object_type="swap_job",
        object_id=str(job.pk),
        purpose=PURPOSE,
        data=data,
    )


# --- the subject's results ----------------------------------------------------------------------


class ResultNotReady(ApplicationError):
    status_code = 409
    code = "result_not_ready"


@dataclass(frozen=True)
class OpenedResult:
    job: SwapJob
    content: vault.Stream
    media_type: str
    filename: str


def swap_result_open(*, subject: User, job_id: Any, download: bool = True) -> OpenedResult:
    """The subject downloads their result, decrypted as it is sent, a segment at a time (never
    the whole clip in memory). Never refused for lack of consent (it is their own data: access,
    not use); the consent state read through the gate is recorded in the audit event. Shown in
    their own page (``download=False``, as every render of the swaps page does) it is a view,
    not a download: no event."""
    job = swap_job_for(subject=subject, job_id=job_id)
    if job.status != SwapJob.Status.DONE or not job.result:
        raise ResultNotReady(_("This swap has no result yet."), extra={"status": job.status})
    purpose = STORAGE_PURPOSE if job.stored else PURPOSE
    if job.expires_at <= timezone.now():
        # Past its retention: erased by the next sweep, never served meanwhile.
        raise NotFound(_("This result no longer exists."), code="result_gone")
    try:
        content = vault.unseal_stream(subject.pk, job.result, aad=result_aad(job.pk))
    except (DecryptionError, FileNotFoundError):
        raise NotFound(_("This result no longer exists."), code="result_gone") from None
    # mutant: negate — tests/swap/test_jobs_api.py
    #   test_showing_a_result_in_the_page_is_not_a_download_and_writes_no_event
    if download:
        with transaction.atomic(durable=True):
            state = consent_state(subject=subject, purpose=purpose)
            _audit(job, AuditAction.SWAP_RESULT_DOWNLOADED, actor=subject, consent=state)
    extension = "png" if job.kind == TemplateKind.IMAGE else "mp4"
    return OpenedResult(job, content, job.media_type, f"faceledger-swap-{job.pk}.{extension}")


def swap_job_delete(*, subject: User, job_id: Any) -> SwapJob | None:
    """The subject deletes a job and its result. A running job is cancelled instead (its
    worker stops before the next frames) and returned; it can be deleted once it has stopped.
    Never refused for lack of consent; the consent state is recorded in the audit event."""
    with transaction.atomic(durable=True):
        state = consent_state(subject=subject, purpose=PURPOSE, lock=True)
        job = swap_job_for(subject=subject, job_id=job_id, lock=True)
        if job.status == SwapJob.Status.RUNNING:
            _cancel(job, reason="cancelled_by_subject", actor=subject)
            return job
        if job.status == SwapJob.Status.PENDING:
            _cancel(job, reason="cancelled_by_subject", actor=subject)
        had_result = bool(job.result)
        swap_job_erase(job=job)
        _audit(
            job,
            AuditAction.SWAP_RESULT_DELETED,
            actor=subject,
            status=job.status,
            result=had_result,
            consent=state,
        )
        subject_key_release(subject_id=subject.pk, actor=subject, reason="result_deleted")
    return None


def _cancel(job: SwapJob, *, reason: str, actor: User | None) -> None:
    """Cancel a pending or running job in the caller's transaction (its worker, if any, sees
    the status between frames and stops)."""
    now = timezone.now()
    SwapJob.objects.filter(pk=job.pk).update(
        status=SwapJob.Status.CANCELLED, error=reason, finished_at=now
    )
    job.status, job.error, job.finished_at = SwapJob.Status.CANCELLED, reason, now
    _audit(job, AuditAction.SWAP_JOB_CANCELLED, actor=actor, reason=reason)


def swap_job_erase(*, job: SwapJob) -> int:
    """Erase one job in the caller's transaction: the result file, then the row (and with it,
    by its foreign key's cascade, every share link to it: a link dies with its result,
    whatever erased it). The file goes first and at once (see
    ``biometrics.services.capture_erase``). Idempotent."""
    if job.result:
        vault.blob_delete(job.result)
    return SwapJob.objects.filter(pk=job.pk).delete()[0]


def _jobs_erase(
    subject_id: int,
    *,
    stored: bool,
    ephemeral: bool | None,
    made_before: datetime | None = None,
) -> int:
    with transaction.atomic(savepoint=False):
        jobs = results_of(subject_id, stored=stored, ephemeral=ephemeral).select_for_update()
        if made_before is not None:
            jobs = jobs.filter(finished_at__lte=made_before)
        erased = 0
        # Locked in the order the depicted person's withdrawal locks a template's jobs
        # (``swap_jobs_of_template``), so the two cannot deadlock on a shared job.
        for job in jobs.order_by("created_at", "pk"):
            if job.status in SwapJob.ACTIVE:
                _cancel(job, reason="erased", actor=None)
            erased += swap_job_erase(job=job)
        return erased


def jobs_erase(subject_id: int) -> int:
    """Inventory ``swap.jobs`` (face_swap, biometric_enrolment): every job and result not kept
    under output_storage and made from a capture; queued and running jobs are cancelled first
    (audited)."""
    return _jobs_erase(subject_id, stored=False, ephemeral=False)


def jobs_count(subject_id: int) -> int:
    return results_of(subject_id, stored=False, ephemeral=False).count()


def ephemeral_results_erase(subject_id: int) -> int:
    """Inventory ``swap.ephemeral_results`` (ephemeral_swap, account erasure): every result
    made without enrolment and not kept under output_storage."""
    return _jobs_erase(subject_id, stored=False, ephemeral=True)


def ephemeral_results_count(subject_id: int) -> int:
    return results_of(subject_id, stored=False, ephemeral=True).count()


def jobs_sealed(subject_id: int) -> int:
    """The jobs that need the subject's data key: a result under it, or a job still to be made
    from a capture. A failed or cancelled job keeps its row for a day to say why, not the key."""
    jobs = results_of(subject_id, stored=False, ephemeral=False)
    needing = Q(result__gt="") | Q(status__in=SwapJob.ACTIVE, capture__isnull=False)
    return jobs.filter(needing).count()


def stored_results_erase(subject_id: int) -> int:
    """Inventory ``swap.stored_results`` (biometric_enrolment, account erasure): every result
    kept under output_storage."""
    return _jobs_erase(subject_id, stored=True, ephemeral=None)


def stored_results_count(subject_id: int) -> int:
    return SwapJob.objects.filter(subject_id=subject_id, stored=True).count()


def _day_ago() -> datetime:
    return timezone.now() - retention_for(PURPOSE)


def stored_results_withdraw(subject_id: int) -> int:
    """Withdrawing output_storage, as its text says: results made more than 24 hours ago are
    erased now; younger ones become 24-hour results (kept until 24 hours after they were
    made, as if output storage had never been granted). Returns the number erased."""
    erased = 0
    # (Its own statement, so that deleting it leaves the function running: the mutant is
    # killed by what the test checks, not by a NameError.)
    # mutant: delete — tests/swap/test_withdrawal_semantics.py
    #   test_withdrawing_output_storage_erases_kept_results_older_than_24_hours
    erased += _jobs_erase(subject_id, stored=True, ephemeral=None, made_before=_day_ago())
    young = SwapJob.objects.select_for_update().filter(subject_id=subject_id, stored=True)
    for job in young:
        assert job.finished_at is not None  # stored is set only when a job is done
        job.stored, job.expires_at = False, job.finished_at + retention_for(PURPOSE)
        # mutant: delete — tests/swap/test_withdrawal_semantics.py
        #   test_withdrawing_output_storage_keeps_a_young_result_until_24_hours_after_it_was_made
        job.save(update_fields=["stored", "expires_at"])
    return erased


def stored_results_withdraw_count(subject_id: int) -> int:
    """How many results ``stored_results_withdraw`` would erase now."""
    jobs = SwapJob.objects.filter(subject_id=subject_id, stored=True)
    return jobs.filter(finished_at__lte=_day_ago()).count()


# --- retention ----------------------------------------------------------------------------------


def results_expired_erase(now: datetime) -> inventory.Swept:
    """Jobs and results past their retention (24 hours, or 30 days under output_storage).
    Each is a deletion, so the consent state is read through the gate first and counted."""
    swept = inventory.Swept()
    for job in results_expired(now=now, limit=SWEEP_BATCH):
        state = consent_state(
            subject=job.subject_id, purpose=STORAGE_PURPOSE if job.stored else PURPOSE
        )
        swept.consent[state] = swept.consent.get(state, 0) + 1
        if job.status in SwapJob.ACTIVE:
            _cancel(job, reason="expired", actor=None)
        swept.erased += swap_job_erase(job=job)
    return swept


def notices_expired_erase(now: datetime) -> inventory.Swept:
    """Notices past their ``NOTICE_DAYS``."""
    swept = inventory.Swept()
    expired = [notice.pk for notice in notices_expired(now=now, limit=SWEEP_BATCH)]
    swept.erased += SwapNotice.objects.filter(pk__in=expired).delete()[0]
    return swept


def notices_erase(subject_id: int) -> int:
    """Inventory ``swap.notices``: the subject's notices (account erasure)."""
    return SwapNotice.objects.filter(subject_id=subject_id).delete()[0]


def orphan_files_expired_erase(now: datetime) -> inventory.Swept:
    """Result files no job names: left only by a worker killed between writing the file and
    committing (``_result_store`` deletes them otherwise). Matched by full name, as storage
    may have suffixed it; a day's grace covers a result being stored right now."""
    names = vault.blob_names(RESULT_FOLDER)
    swept = inventory.Swept()
    for start in range(0, len(names), SWEEP_BATCH):
        chunk = names[start : start + SWEEP_BATCH]
        known = set(SwapJob.objects.filter(result__in=chunk).values_list("result", flat=True))
        for name in chunk:
            if name not in known and vault.blob_modified(name) < now - ORPHAN_AGE:
                swept.erased += vault.blob_delete(name)
    return swept


# --- recovery -----------------------------------------------------------------------------------


def swap_jobs_recover(*, now: datetime | None = None) -> dict[str, int]:
    """Swap jobs' share of the beat task (``jobs.recover``): a running job silent for
    ``SWAP_STALE_AFTER`` seconds is queued again, or failed with ``worker_lost`` once it has
    been claimed ``SWAP_MAX_ATTEMPTS`` times; a pending job that long in the queue is queued
    again (its message may be lost: the filesystem broker loses a killed worker's)."""
    return jobs.recover(SWAP_JOBS, now=now)


# ---------------------------------------------------------------- "was this made here?"


@dataclass(frozen=True)
class MarkCheck:
    """The public answer: whether this service made the upload, and when. Nothing else: not
    the job, not who asked for it, not whose face it is."""

    made_here: bool
    made_at: datetime | None


MARK_CHECK_MAX_BYTES = 50 * 1024 * 1024


def swap_mark_check(*, data: bytes) -> MarkCheck:
    """Read the invisible mark (``swap.engines.watermark``) of an uploaded image or clip and
    look its job up. Audited with the answer only; the upload is neither kept nor hashed.
    ``Unprocessable`` (422, ``reason`` = the decoder's code) when it cannot be read."""
    from swap.engines import watermark
    from swap.engines.video import read_video_mark

    if len(data) > MARK_CHECK_MAX_BYTES:
        reason = "upload_too_large"
        raise Unprocessable(str(_MARK_REFUSALS[reason]), extra={"reason": reason})
    kind = "video" if sniff_video(data) is not None else "image"
    try:
        mark = read_video_mark(data) if kind == "video" else watermark.read(decode_image(data))
    except AnalysisError as exc:
        raise Unprocessable(str(_MARK_REFUSALS[exc.code]), extra={"reason": exc.code}) from None
    except Exception:  # noqa: BLE001 - any decoder failure on untrusted bytes is the same refusal
        raise Unprocessable(
            str(_MARK_REFUSALS["corrupt_video"]), extra={"reason": "corrupt_video"}
        ) from None
    job = _job_with_mark(mark) if mark is not None else None
    answer = MarkCheck(made_here=job is not None, made_at=job.finished_at if job else None)
    with transaction.atomic(durable=True):
        audit_record(
            actor=None,
            subject=None,
            action=AuditAction.SWAP_MARK_CHECKED,
            data={"kind": kind, "made_here": answer.made_here},
        )
    return answer


def swap_mark_check_refused(*, reason: str) -> None:
    """Audit a refused "was this made here?" check (``rate_limited``), in the caller's
    transaction or its own; nothing about the caller is recorded, not even its network."""
    with transaction.atomic(savepoint=False):
        audit_record(
            actor=None,
            subject=None,
            action=AuditAction.SWAP_MARK_CHECK_REFUSED,
            data={"reason": reason},
        )


def _job_with_mark(mark: str) -> SwapJob | None:
    """The finished job whose id starts with the mark's 64 bits (UUIDs order by their bytes,
    so those ids are one range)."""
    low, high = uuid.UUID(mark + "0" * 16), uuid.UUID(mark + "f" * 16)
    return (
        SwapJob.objects.filter(id__gte=low, id__lte=high, status=SwapJob.Status.DONE)
        .only("finished_at")
        .first()
    )


_MARK_REFUSALS = {
    **_MEDIA_REFUSALS,
    "upload_too_large": gettext_lazy("The file is too large: at most 50 MB."),
}


# --- the wind-down: the depicted persons' data ------------------------------------------------


def templates_count_all() -> int:
    """Inventory ``swap.templates`` (a service store): templates, their licences and the
    depicted persons' consent records (each with its signed document) and the withdrawal
    requests that reached staff."""
    return (
        SwapTemplate.objects.count()
        + TemplateLicence.objects.count()
        + DepictedPersonConsent.objects.count()
        + DepictedWithdrawalRequest.objects.count()
    )


def templates_erase_all() -> int:
    """Erase every template, licence and depicted person's consent record with their files
    (template, poster, signed documents), in the caller's transaction. Only the wind-down calls
    it, once every subject's jobs and notices (which point at templates) are erased. Files go
    at once, as a withdrawal's do: a rollback may leave a row without its file, never a file
    without its row."""
    erased = templates_count_all()
    names = [
        name
        for template in SwapTemplate.objects.all()
        for name in (template.file.name, template.poster.name)
    ]
    names += [row.document.name for row in DepictedPersonConsent.objects.all()]
    SwapTemplate.objects.update(licence=None, depicted_consent=None)
    DepictedPersonConsent.objects.all().delete()
    DepictedWithdrawalRequest.objects.all().delete()
    TemplateLicence.objects.all().delete()
    SwapTemplate.objects.all().delete()
    _files_delete(names)
    return erased


# --- swaps without enrolment (ephemeral_swap) ---------------------------------------------------

# What a swap without enrolment holds in memory only, and destroys (the audit event says so).
EPHEMERAL_DESTROYED = ("photo", "video", "landmarks", "embedding")


class EphemeralRefused(Unprocessable):
    """A swap without enrolment that could not be made; nothing was kept."""

    code = "ephemeral_refused"


def swap_ephemeral_challenge(*, subject: User) -> Any:
    """A liveness challenge for a swap without enrolment (needs ephemeral_swap consent)."""
    return liveness_challenge_issue(subject=subject, purpose=EPHEMERAL_PURPOSE)


def swap_ephemeral_make(
    *, subject: User, challenge_id: Any, template_id: Any, photo: bytes, video: bytes
) -> SwapJob:
    """A swap without enrolment, made in this request (invariant "ephemeral", docs/ARCHITECTURE.md).

    Order: the gate (ephemeral_swap) and the template (usable, and a picture: a clip takes
    minutes and would need a queue, and a queued message would hold the face) before the
    challenge is spent; then the photo and the video are checked in memory as a capture is
    (liveness, one face, the photo's face), the swap is made from the decoded photo, and every
    reference to the photo, the video, the landmarks and the embedding is dropped; then only
    the labelled result is stored, with the gate checked again under the subject's lock, and
    one audit event names what was destroyed and when. Nothing of the face reaches the
    database, a file, the cache or the broker. A refusal keeps nothing but its audit event.
    Refused in closing mode (403 ``service_closing``)."""
    check_service_open()
    # mutant: delete — tests/swap/test_ephemeral.py
    #   test_an_ephemeral_swap_is_refused_without_its_consent_before_the_challenge_is_spent
    require_consent(subject=subject, purpose=EPHEMERAL_PURPOSE)
    template = template_usable_for(template_id)
    if template.kind != TemplateKind.IMAGE:
        raise EphemeralRefused(
            _("A swap without enrolment is made while you wait: choose a picture, not a clip."),
            code="template_is_a_clip",
        )
    steps = liveness_challenge_use(
        subject=subject, challenge_id=challenge_id, purpose=EPHEMERAL_PURPOSE
    )
    job_id, started = uuid.uuid4(), timezone.now()
    try:
        output = _ephemeral_render(job_id, photo, video, steps, template)
    except (CaptureRefused, SwapError) as refusal:
        code = refusal.code if isinstance(refusal, SwapError) else str(refusal.code)
        _ephemeral_refused(subject, template, code)
        if isinstance(refusal, CaptureRefused):
            raise
        raise EphemeralRefused(
            str(EPHEMERAL_ERRORS.get(code, EPHEMERAL_ERRORS["failed"])), code=code
        ) from None
    destroyed_at = timezone.now()
    return _ephemeral_store(subject, job_id, template, output, started, destroyed_at)


EPHEMERAL_ERRORS = {
    "no_target_face": gettext_lazy("No face was found in the template."),
    "no_source_face": gettext_lazy("No face was found in your photo."),
    "face_turned_away": gettext_lazy("The face in the template is turned too far from the camera."),
    "source_turned_away": gettext_lazy("Your face is turned too far from the camera in the photo."),
    "failed": gettext_lazy("It could not be made. Please try again."),
}


def _ephemeral_render(
    job_id: uuid.UUID, photo: bytes, video: bytes, steps: list[dict], template: SwapTemplate
) -> bytes:
    """The labelled output, from the uploads, in memory. The analysis (photo, landmarks,
    embedding) lives only in this frame: it is gone when this returns."""
    analysis = capture_analyse(photo=photo, video=video, steps=steps)
    analyser = analyser_in_use()
    try:
        source = decode_image(analysis.photo_jpeg)
    except AnalysisError as exc:  # pragma: no cover - the analysis decoded it already
        raise SwapError("corrupt_image", exc.message) from None
    face = _face_from(analysis.landmarks, analysis.embedding, analysis.engine, source, analyser)
    del analysis
    return swap_image(
        source,
        face,
        _template_bytes(template),
        get_engine(face_engine()),
        analyser,
        job_id=str(job_id),
        created=timezone.now(),
        c2pa_credentials=c2pa_credentials(),
        label=_mark_words(active_language()),
    )


def _ephemeral_refused(subject: User, template: SwapTemplate, code: str) -> None:
    with transaction.atomic(durable=True):
        audit_record(
            actor=subject,
            subject=subject,
            action=AuditAction.SWAP_EPHEMERAL_REFUSED,
            object_type="swap_template",
            object_id=str(template.pk),
            purpose=EPHEMERAL_PURPOSE,
            data={
                "code": code,
                "destroyed": list(EPHEMERAL_DESTROYED),
                "destroyed_at": timezone.now().isoformat(),
            },
        )


def _ephemeral_store(
    subject: User,
    job_id: uuid.UUID,
    template: SwapTemplate,
    output: bytes,
    started: datetime,
    destroyed_at: datetime,
) -> SwapJob:
    """Store the labelled result under the subject's key as a finished job with no capture,
    kept 24 hours (30 days under output_storage); audited with what was destroyed and when.
    The file is written inside the transaction and deleted if anything fails."""
    written: list[str] = []
    try:
        with transaction.atomic(durable=True):
            # mutant: delete — tests/swap/test_ephemeral.py
            #   test_a_withdrawal_during_an_ephemeral_swap_wins_and_no_result_is_kept
            require_consent(subject=subject, purpose=EPHEMERAL_PURPOSE, lock=True)
            refusal = _template_refusal_locked(template.pk)
            if refusal is not None:
                raise TemplateUnavailable(
                    str(TEMPLATE_REFUSALS[refusal]), extra={"reason": refusal}
                )
            key = subject_key_for_use(subject=subject)
            written.append(
                vault.blob_save(
                    f"{RESULT_FOLDER}/{job_id}.result",
                    vault.seal(key, output, aad=result_aad(job_id)),
                )
            )
            return _ephemeral_job_create(
                subject, job_id, template, written[0], output, started, destroyed_at
            )
    except BaseException:
        for name in written:
            vault.blob_delete(name)
        raise


def _ephemeral_job_create(
    subject: User,
    job_id: uuid.UUID,
    template: SwapTemplate,
    name: str,
    output: bytes,
    started: datetime,
    destroyed_at: datetime,
) -> SwapJob:
    now = timezone.now()
    stored = consent_state(subject=subject, purpose=STORAGE_PURPOSE) == GRANTED
    job = SwapJob.objects.create(
        id=job_id,
        subject=subject,
        capture=None,
        template=template,
        kind=TemplateKind.IMAGE,
        status=SwapJob.Status.DONE,
        progress=100,
        created_at=started,
        claimed_at=started,
        finished_at=now,
        result=name,
        result_bytes=len(output),
        result_c2pa=c2pa_credentials() is not None,
        stored=stored,
        ephemeral=True,
        language=active_language(),
        expires_at=now + retention_for(STORAGE_PURPOSE if stored else EPHEMERAL_PURPOSE),
    )
    audit_record(
        actor=subject,
        subject=subject,
        action=AuditAction.SWAP_EPHEMERAL_DONE,
        object_type="swap_job",
        object_id=str(job_id),
        purpose=EPHEMERAL_PURPOSE,
        data={
            "template": str(template.pk),
            "licence": template.licence_id,
            "depicted_consent": template.depicted_consent_id,
            "engine": face_engine(),
            "result": job.media_type,
            "bytes": len(output),
            "c2pa": job.result_c2pa,
            "stored": stored,
            "expires_at": job.expires_at.isoformat(),
            "destroyed": list(EPHEMERAL_DESTROYED),
            "destroyed_at": destroyed_at.isoformat(),
        },
    )
    return job


# --- share links --------------------------------------------------------------------------------

SHARE_DEFAULT_HOURS = 24
SHARE_MAX_HOURS = 7 * 24
SHARE_MAX_VIEWS = 1000


@dataclass(frozen=True)
class SharedResult:
    """What a share link shows: the labelled result as stored (every label kept) and its
    provenance. Nothing about the owner."""

    link: ShareLink
    content: bytes
    media_type: str
    filename: str


class ShareLinkRefused(Unprocessable):
    code = "share_link_refused"


def check_share_terms(*, hours: int, max_views: int | None) -> None:
    if not 1 <= hours <= SHARE_MAX_HOURS:
        raise ShareLinkRefused(
            _("A link lasts from 1 hour to 7 days."), code="share_expiry_invalid"
        )
    if max_views is not None and not 1 <= max_views <= SHARE_MAX_VIEWS:
        raise ShareLinkRefused(
            _("A view limit is from 1 to %(most)d views.") % {"most": SHARE_MAX_VIEWS},
            code="share_views_invalid",
        )


SHARING_NOT_CONSENTED = gettext_lazy(
    "The person in this template did not agree to results being shared by link: only you can "
    "see this result."
)


def check_sharing_allowed(template: SwapTemplate) -> None:
    """422 ``sharing_not_consented`` unless the depicted person's consent in force lets results
    made with the template be shared by link (``selectors.sharing_allowed``)."""
    if not sharing_allowed(template):
        raise ShareLinkRefused(str(SHARING_NOT_CONSENTED), code="sharing_not_consented")


def share_link_create(
    *, subject: User, job_id: Any, hours: int = SHARE_DEFAULT_HOURS, max_views: int | None = None
) -> tuple[ShareLink, str]:
    """The owner makes a link to one of their results: a random 256-bit token (returned once,
    stored only as its keyed digest), an expiry (1 hour to 7 days, never past the result's
    own), an optional view limit. Refused for a result not made yet or past its time, for one
    whose template's depicted person did not allow sharing (422 ``sharing_not_consented``), and in
    closing mode (403 ``service_closing``): links already made die with the accounts."""
    check_service_open()
    check_share_terms(hours=hours, max_views=max_views)
    token = secrets.token_urlsafe(32)
    digest = share_token_digest(token)
    assert digest is not None  # a token made here always has the token's form
    now = timezone.now()
    with transaction.atomic(durable=True):
        lock_subject(subject.pk)
        job = swap_job_for(subject=subject, job_id=job_id, lock=True)
        if job.status != SwapJob.Status.DONE or not job.result or job.expires_at <= now:
            raise ResultNotReady(_("This swap has no result to share."))
        # mutant: delete — tests/swap/test_share_scope.py
        #   test_a_result_whose_depicted_person_did_not_allow_sharing_cannot_be_shared
        check_sharing_allowed(job.template)
        link = ShareLink.objects.create(
            job=job,
            subject=subject,
            token_digest=digest,
            created_at=now,
            expires_at=min(now + timedelta(hours=hours), job.expires_at),
            max_views=max_views,
        )
        _audit(
            job,
            AuditAction.SWAP_SHARE_LINK_CREATED,
            actor=subject,
            link=str(link.pk),
            expires_at=link.expires_at.isoformat(),
            max_views=max_views,
        )
    return link, token


def share_link_revoke(*, subject: User, link_id: Any) -> None:
    """The owner revokes a link: it is deleted at once (one action), audited."""
    with transaction.atomic(durable=True):
        lock_subject(subject.pk)
        link = share_link_for(subject=subject, link_id=link_id, lock=True)
        job = SwapJob.objects.get(pk=link.job_id)
        link.delete()
        _audit(job, AuditAction.SWAP_SHARE_LINK_REVOKED, actor=subject, link=str(link_id))


class ShareLinkGone(NotFound):
    code = "share_link_gone"


def share_link_open(*, token: str) -> SharedResult:
    """Anyone with the token sees the result: one view counted (the view limit), audited
    without anything about the viewer. Unknown, expired, used-up, revoked and dead links are
    one answer (404 ``share_link_gone``), audited as refused."""
    with transaction.atomic(durable=True):
        link = share_link_for_token(token, lock=True)
        # mutant: negate — tests/swap/test_share_links.py
        #   test_a_link_with_a_view_limit_shows_the_result_that_many_times_then_is_gone
        if link is None:
            share_link_refused(reason="gone")
            opened = None
        else:
            opened = _share_open(link)
    if opened is None:
        raise ShareLinkGone(_("This link has expired or was removed."))
    return opened


def _share_open(link: ShareLink) -> SharedResult | None:
    shared = _shared_result(link)
    if shared is None:
        share_link_refused(reason="gone")
        return None
    link.views += 1
    link.save(update_fields=["views"])
    _audit(link.job, AuditAction.SWAP_SHARE_LINK_VIEWED, link=str(link.pk), views=link.views)
    return shared


def _shared_result(link: ShareLink) -> SharedResult | None:
    job = link.job
    try:
        content = vault.unseal(job.subject_id, vault.blob_read(job.result), aad=result_aad(job.pk))
    except (DecryptionError, FileNotFoundError):
        return None
    extension = "png" if job.kind == TemplateKind.IMAGE else "mp4"
    return SharedResult(link, content, job.media_type, f"faceledger-swap-{job.pk}.{extension}")


SHARE_TICKET_SECONDS = 10 * 60
# What one view needs: the picture or the player, the download, and one reload.
SHARE_TICKET_FETCHES = 3
_SHARE_TICKET = "faceledger.swap.share-file"


def share_file_ticket(link: ShareLink) -> str:
    """The viewer page's pass to its own file (the picture or player, and the download): a
    random nonce signed for this link (the salt names it; the ticket does not), good for
    SHARE_TICKET_FETCHES fetches within ten minutes. The page carries the address, not the
    file; one counted view is one person looking, not a download address for a crowd."""
    return signing.dumps(secrets.token_urlsafe(16), salt=f"{_SHARE_TICKET}:{link.pk}")


def share_link_file(*, token: str, ticket: str) -> SharedResult:
    """The file of a view already counted: with that page's ticket for this very link, within
    its ten minutes and fetches, while the link lives (its view limit was applied to the
    view). No view counted and nothing audited: the view was, and its fetches are bounded.
    Anything else is the one 404 ``share_link_gone``."""
    link = share_link_for_token(token, counted=True)
    nonce = None
    if link is not None:
        try:
            nonce = signing.loads(
                ticket, salt=f"{_SHARE_TICKET}:{link.pk}", max_age=SHARE_TICKET_SECONDS
            )
        except signing.BadSignature:
            nonce = None
    gone = ShareLinkGone(_("This link has expired or was removed."))
    # mutant: negate — tests/swap/test_share_links.py
    #   test_the_file_of_a_view_needs_that_pages_ticket_and_dies_with_the_link
    if link is None or not isinstance(nonce, str):
        raise gone
    # mutant: delete — tests/swap/test_share_file_ticket_limits.py
    #   test_a_one_view_links_ticket_does_not_serve_the_file_to_a_crowd
    _share_ticket_fetch(nonce, gone)
    shared = _shared_result(link)
    if shared is None:
        raise gone
    return shared


def _share_ticket_fetch(nonce: str, gone: ShareLinkGone) -> None:
    """Count one fetch of a ticket's file in the cache (shared by every web process with
    CACHE_URL); refuse past SHARE_TICKET_FETCHES."""
    key = f"swap:share-file:{nonce}"
    cache.add(key, 0, timeout=SHARE_TICKET_SECONDS)
    try:
        fetches = cache.incr(key)
    except ValueError:  # gone from the cache between the two calls: its time is up
        raise gone from None
    if fetches > SHARE_TICKET_FETCHES:
        raise gone


def share_link_refused(*, reason: str) -> None:
    """Audit a refused view (a dead token, or too many views from one network), in the
    caller's transaction or its own; nothing about the viewer is recorded."""
    with transaction.atomic(savepoint=False):
        audit_record(
            actor=None,
            subject=None,
            action=AuditAction.SWAP_SHARE_LINK_REFUSED,
            data={"reason": reason},
        )


def access_links_erase(subject_id: int) -> int:
    """Inventory ``swap.access_links`` (every withdrawal of the owner's, account erasure): every
    link the subject made."""
    return ShareLink.objects.filter(subject_id=subject_id).delete()[0]


def access_links_count(subject_id: int) -> int:
    return ShareLink.objects.filter(subject_id=subject_id).count()


def share_links_expired_erase(now: datetime) -> inventory.Swept:
    """Links past their expiry or their view limit."""
    swept = inventory.Swept()
    dead = [link.pk for link in share_links_expired(now=now, limit=SWEEP_BATCH)]
    swept.erased += ShareLink.objects.filter(pk__in=dead).delete()[0]
    return swept
