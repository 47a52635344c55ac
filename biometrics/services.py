"""Every write of the biometrics app: challenges, captures, their use and erasure, retention,
master-key rotation. Each top-level service audits in its own transaction (invariant "audited",
docs/ARCHITECTURE.md).

One erase path: ``capture_erase`` deletes one capture (its ciphertext file, then its row) in the
caller's transaction. Deleting a capture (``capture_delete``), withdrawing
``biometric_enrolment`` and erasing an account (both through the inventory store, see
``biometrics.stores``) and the retention sweep all call it.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import cv2
import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.actions import AuditAction
from audit.closing import check_service_open
from audit.services import SubjectRef, audit_record
from biometrics import vault
from biometrics.analysis import AnalysisError, analyser_in_use, get_analyser, get_pad
from biometrics.analysis.images import decode_image
from biometrics.analysis.liveness import LivenessResult, challenge_draw, check_liveness
from biometrics.analysis.video import decode_video
from biometrics.models import Capture, LivenessChallenge, SubjectKey
from biometrics.selectors import PURPOSE, capture_for, capture_retention, captures_expired
from biometrics.uploads import PHOTO_MAX_BYTES
from compliance_site import inventory, keystore
from compliance_site.errors import Unprocessable
from consent.identity.models import User
from consent.ledger.gate import consent_state, require_consent

CHALLENGE_TTL = timedelta(minutes=2)
CAPTURE_FOLDER = "captures"
# A ciphertext file with no capture row this old is a leftover of a crashed request.
ORPHAN_AGE = timedelta(days=1)
SWEEP_BATCH = 500
_JPEG_QUALITY = 95


class ChallengeRefused(Unprocessable):
    code = "challenge_invalid"


class CaptureRefused(Unprocessable):
    """The upload cannot become a capture; the challenge it used is spent."""

    code = "capture_refused"


# People read these; the analysis package's own messages are English only.
_REFUSALS = {
    "unsupported_image": gettext_lazy("Send the photo as a JPEG, PNG or WebP image."),
    "image_too_large": gettext_lazy("The photo has too many pixels."),
    "corrupt_image": gettext_lazy("The photo cannot be read: it is damaged or cut short."),
    "unsupported_video": gettext_lazy("Send the video as WebM or MP4 (VP8, VP9 or H.264)."),
    "video_too_large": gettext_lazy("The video is too large: at most 20 MB and 1920×1080."),
    "video_too_long": gettext_lazy("The video is longer than 10 seconds."),
    "video_too_short": gettext_lazy("The video is too short to check."),
    "corrupt_video": gettext_lazy("The video cannot be read: it is damaged or cut short."),
    "no_face": gettext_lazy(
        "We could not see one face all the time, in the video and in the photo."
    ),
    "multiple_faces": gettext_lazy("More than one face is in view. Make sure you are alone."),
    "no_motion": gettext_lazy("The face did not move: a still picture is not accepted."),
    "challenge_failed": gettext_lazy(
        "The movements asked for were not seen, each when its prompt was shown."
    ),
    "flat_motion": gettext_lazy(
        "The face moved like a flat picture: a photo or a screen is not accepted."
    ),
    "presentation_attack": gettext_lazy(
        "The video looks like a photo, a screen or a mask, not a live face."
    ),
    "face_mismatch": gettext_lazy("The face in the video is not the face in the photo."),
}


def _refusal_detail(code: str, fallback: str) -> str:
    message = str(_REFUSALS.get(code, fallback))
    return _(
        "%(reason)s Your photo and video were not kept. Please record again: each try asks "
        "for new movements."
    ) % {"reason": message}


# --- challenges ---------------------------------------------------------------------------------


def _random_steps() -> list[dict]:
    """Four timed actions (``challenge_draw``), from the operating system's random source."""
    return challenge_draw(secrets.SystemRandom())


def liveness_challenge_issue(*, subject: User, purpose: str = PURPOSE) -> LivenessChallenge:
    """A new challenge (four random timed actions, valid 2 minutes) bound to ``subject``, for
    a capture (``biometric_enrolment``) or for a use that checks a live face without keeping
    it (the purpose a swap without enrolment names), whose consent it needs.

    Only the newest challenge of a subject is live: issuing one voids the earlier ones, so a
    client asking in a loop keeps one row, and an old challenge cannot be saved up for later.
    Every visit to the capture page issues one, so issuing writes no audit event: the event
    is written when the challenge is used, with its steps (``liveness_challenge_use``).
    """
    # Closing mode: no new captures (403 ``service_closing``).
    # mutant: delete — tests/erasure/test_wind_down.py
    #   test_closing_mode_refuses_sign_up_captures_and_swaps_and_shows_a_banner
    check_service_open()
    now = timezone.now()
    with transaction.atomic(durable=True):
        # mutant: delete — tests/biometrics/test_capture_api.py
        #   test_a_challenge_is_refused_without_biometric_consent
        require_consent(subject=subject, purpose=purpose, lock=True)
        LivenessChallenge.objects.filter(subject=subject).delete()
        challenge = LivenessChallenge.objects.create(
            subject=subject, steps=_random_steps(), created_at=now, expires_at=now + CHALLENGE_TTL
        )
    return challenge


def _challenge_invalid() -> ChallengeRefused:
    # One answer for unknown, used and someone else's: a client learns nothing by probing.
    return ChallengeRefused(
        _(
            "This recording prompt was already used or is not valid. Please record again: "
            "each try asks for new movements."
        ),
        extra={"new_challenge_required": True},
    )


def liveness_challenge_use(
    *, subject: User, challenge_id: Any, purpose: str = PURPOSE
) -> list[dict]:
    """Spend the subject's challenge and return its steps; refused (422) if it is unknown,
    someone else's, used or expired. Committed before the upload is analysed, so any attempt,
    failed or not, uses it up. ``purpose``: the use it is spent for, as audited."""
    try:
        key = uuid.UUID(str(challenge_id))
    except ValueError:
        raise _challenge_invalid() from None
    with transaction.atomic(durable=True):
        challenge = (
            LivenessChallenge.objects.select_for_update().filter(pk=key, subject=subject).first()
        )
        if challenge is None:
            raise _challenge_invalid()
        if challenge.expires_at <= timezone.now():
            raise ChallengeRefused(
                _(
                    "This recording prompt has expired. Please record again: each try asks for "
                    "new movements."
                ),
                code="challenge_expired",
                extra={"new_challenge_required": True},
            )
        challenge.delete()
        audit_record(
            actor=subject,
            subject=subject,
            action=AuditAction.LIVENESS_CHALLENGE_USED,
            object_type="liveness_challenge",
            object_id=str(key),
            purpose=purpose,
            data={"steps": challenge.steps},
        )
    return list(challenge.steps)


# --- captures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaptureAnalysis:
    """What a capture keeps, in memory until it is encrypted. The video is not in it."""

    photo_jpeg: bytes  # re-encoded from the decoded pixels: no EXIF, no location
    embedding: np.ndarray  # unit float32
    landmarks: np.ndarray  # float32 (68, 2), or (5, 2) key points for engines without 68
    engine: str
    liveness: dict  # passed, steps, scores


def capture_analyse(*, photo: bytes, video: bytes, steps: list[dict]) -> CaptureAnalysis:
    """Decode both files (in memory, with limits), check liveness against ``steps``, and
    compute the photo's embedding. ``CaptureRefused`` (422, with the analysis code) otherwise.
    The decoded video frames are dropped before this returns."""
    try:
        photo_bgr = decode_image(photo, max_bytes=PHOTO_MAX_BYTES)
        decoded = decode_video(video)
    except AnalysisError as exc:
        raise CaptureRefused(
            _refusal_detail(exc.code, exc.message),
            code=exc.code,
            extra={"new_challenge_required": True},
        ) from None
    # The liveness check needs the 68 landmarks: always the classic analyser (README).
    result = check_liveness(
        decoded.frames, decoded.times, photo_bgr, steps, get_analyser("classic")
    )
    if result.passed:
        result = _passive_check(result, photo_bgr, decoded.frames)
    del decoded
    if not result.passed:
        raise CaptureRefused(
            _refusal_detail(result.code or "", result.detail),
            code=result.code,
            extra={"new_challenge_required": True, "liveness": _liveness_public(result.as_dict())},
        )
    engine = analyser_in_use()
    # The liveness check found exactly one clear face in the photo (weak stray detections
    # aside); the embedding engine's best one is it. Another engine may find none.
    faces = engine.detect(photo_bgr)
    if not faces:
        raise CaptureRefused(
            _refusal_detail("no_face", ""), code="no_face", extra={"new_challenge_required": True}
        )
    face = faces[0]
    points = face.landmarks if face.landmarks is not None else face.kps
    ok, jpeg = cv2.imencode(".jpg", photo_bgr, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV encodes any decoded BGR image
        raise RuntimeError("JPEG encoding failed")
    return CaptureAnalysis(
        photo_jpeg=jpeg.tobytes(),
        embedding=np.asarray(engine.embed(photo_bgr, face), np.float32),
        landmarks=np.asarray(points, np.float32),
        engine=engine.name,
        liveness=_liveness_public(result.as_dict()),
    )


PAD_FRAMES = 3  # video frames the optional PAD model scores, besides the photo


def _passive_check(result: LivenessResult, photo_bgr: np.ndarray, frames: list) -> LivenessResult:
    """The operator's passive presentation-attack model, when one is configured: the photo and
    ``PAD_FRAMES`` evenly spread frames must each score "real" at the threshold or above."""
    pad = get_pad()
    if pad is None:
        return result
    classic = get_analyser("classic")
    picks = [frames[round(i)] for i in np.linspace(0, len(frames) - 1, PAD_FRAMES)]
    scores = []
    for image in [photo_bgr, *picks]:
        faces = classic.detect(image)
        if faces:
            scores.append(pad.score(image, faces[0].box))
    lowest = min(scores, default=0.0)
    result.scores["pad_real"] = round(lowest, 4)
    if lowest >= pad.settings.threshold:
        return result
    return LivenessResult(
        False, "presentation_attack", result.steps, result.scores, "the PAD model says: not live"
    )


def _liveness_public(result: dict) -> dict:
    return {"passed": result["passed"], "steps": result["steps"], "scores": result["scores"]}


def aad(capture_id: Any, part: str) -> str:
    """What a ciphertext is, bound into it: ``capture:<uuid>:photo``."""
    return f"capture:{capture_id}:{part}"


def capture_create(*, subject: User, challenge_id: Any, photo: bytes, video: bytes) -> Capture:
    """Enrol a face: gate, spend the challenge, analyse, then store the encrypted photo,
    embedding and landmarks with the liveness result.

    Order matters: the gate refuses before anything is spent; the challenge is spent (and
    committed) before the analysis, so a failed attempt needs a new one; a refused upload
    stores nothing but its audit event; the gate is checked again, with the subject's row
    locked, in the transaction that stores, so a withdrawal during the analysis wins.
    """
    check_service_open()  # closing mode (the API also refuses before reading the body)
    # mutant: delete — tests/biometrics/test_capture_gate_first.py
    #   test_the_capture_service_refuses_an_outdated_consent_before_it_spends_the_challenge
    require_consent(subject=subject, purpose=PURPOSE)
    steps = liveness_challenge_use(subject=subject, challenge_id=challenge_id)
    try:
        analysis = capture_analyse(photo=photo, video=video, steps=steps)
    except CaptureRefused as refusal:
        _capture_refusal_record(subject=subject, code=refusal.code)
        raise
    return capture_store(subject=subject, analysis=analysis)


def _capture_refusal_record(*, subject: User, code: str) -> None:
    with transaction.atomic(durable=True):
        audit_record(
            actor=subject,
            subject=subject,
            action=AuditAction.CAPTURE_REFUSED,
            object_type="capture",
            purpose=PURPOSE,
            data={"code": code},
        )


def capture_store(*, subject: User, analysis: CaptureAnalysis) -> Capture:
    """Encrypt and store an analysed capture (the subject's key is made on first use).

    The photo file is written inside the transaction; if anything fails it is deleted again,
    so no ciphertext outlives a capture that was not stored.
    """
    capture_id = uuid.uuid4()
    saved: list[str] = []
    try:
        with transaction.atomic(durable=True):
            # mutant: delete — tests/biometrics/test_capture_api.py
            #   test_a_withdrawal_during_the_analysis_wins_and_nothing_is_stored
            require_consent(subject=subject, purpose=PURPOSE, lock=True)
            key = subject_key_for_use(subject=subject)
            saved.append(
                vault.blob_save(
                    f"{CAPTURE_FOLDER}/{capture_id}.photo",
                    vault.seal(key, analysis.photo_jpeg, aad=aad(capture_id, "photo")),
                )
            )
            capture = _capture_row_create(subject, capture_id, key, saved[0], analysis)
    except BaseException:
        for name in saved:
            vault.blob_delete(name)
        raise
    return capture


def subject_key_for_use(*, subject: User) -> bytes:
    """The subject's data key, made (audited) on first use. Call with the subject's row locked
    (``require_consent(lock=True)``): a capture, or a result made without one."""
    key, created = vault.subject_key_ensure(subject_id=subject.pk)
    if created:
        audit_record(
            actor=subject,
            subject=subject,
            action=AuditAction.SUBJECT_KEY_CREATED,
            object_type="subject_key",
            data={"key_id": keystore.current().key_id},
        )
    return key


def _capture_row_create(
    subject: User, capture_id: uuid.UUID, key: bytes, photo_name: str, analysis: CaptureAnalysis
) -> Capture:
    now = timezone.now()
    capture = Capture.objects.create(
        id=capture_id,
        subject=subject,
        created_at=now,
        last_used_at=now,
        photo=photo_name,
        embedding=vault.seal(key, analysis.embedding.tobytes(), aad=aad(capture_id, "embedding")),
        landmarks=vault.seal(key, analysis.landmarks.tobytes(), aad=aad(capture_id, "landmarks")),
        engine=analysis.engine,
        liveness=analysis.liveness,
    )
    audit_record(
        actor=subject,
        subject=subject,
        action=AuditAction.CAPTURE_CREATED,
        object_type="capture",
        object_id=str(capture_id),
        purpose=PURPOSE,
        data={"engine": analysis.engine, "steps": [s["step"] for s in analysis.liveness["steps"]]},
    )
    return capture


@dataclass(frozen=True)
class OpenedCapture:
    """A capture's biometric data in clear, in memory only."""

    capture: Capture
    photo_jpeg: bytes
    embedding: np.ndarray
    landmarks: np.ndarray


def capture_decrypt(capture: Capture) -> OpenedCapture:
    """Decrypt a capture; ``DecryptionError`` once the subject's key is destroyed."""
    subject_id = capture.subject_id
    photo = vault.unseal(subject_id, vault.blob_read(capture.photo), aad=aad(capture.pk, "photo"))
    embedding = vault.unseal(subject_id, capture.embedding, aad=aad(capture.pk, "embedding"))
    landmarks = vault.unseal(subject_id, capture.landmarks, aad=aad(capture.pk, "landmarks"))
    return OpenedCapture(
        capture=capture,
        photo_jpeg=photo,
        embedding=np.frombuffer(embedding, np.float32),
        landmarks=np.frombuffer(landmarks, np.float32).reshape(-1, 2),
    )


def capture_use(*, subject: User, capture_id: Any, purpose: str) -> OpenedCapture:
    """Open the subject's capture for a use under ``purpose`` (e.g. ``face_swap``): gate, mark
    it used (retention runs from the last use), audit, decrypt. The capture is kept under
    biometric_enrolment to be used in swaps: that consent must be current too."""
    with transaction.atomic(durable=True):
        # mutant: delete — tests/swap/test_jobs_api.py
        #   test_a_capture_is_not_used_while_its_enrolment_consent_is_outdated
        require_consent(subject=subject, purpose=PURPOSE, lock=True)
        # mutant: delete — tests/biometrics/test_vault.py
        #   test_using_a_capture_needs_the_use_purpose_and_marks_it_used
        require_consent(subject=subject, purpose=purpose, lock=True)
        capture = capture_for(subject=subject, capture_id=capture_id, lock=True)
        capture.last_used_at = timezone.now()
        capture.save(update_fields=["last_used_at"])
        audit_record(
            actor=subject,
            subject=subject,
            action=AuditAction.CAPTURE_USED,
            object_type="capture",
            object_id=str(capture.pk),
            purpose=purpose,
        )
        return capture_decrypt(capture)


# --- erasure ------------------------------------------------------------------------------------


def capture_erase(*, capture: Capture) -> int:
    """Erase one capture in the caller's transaction: the ciphertext file, then the row.

    The file goes first and at once (not after commit): should the transaction roll back, a
    capture row may be left without its photo (erasable, never usable), but a photo is never
    left without its row, which nothing would find again. Idempotent.
    """
    vault.blob_delete(capture.photo)
    return Capture.objects.filter(pk=capture.pk).delete()[0]


def capture_delete(*, subject: User, capture_id: Any) -> None:
    """The subject deletes one of their captures. Never refused for lack of consent; the
    consent state read through the gate is recorded in the audit event."""
    with transaction.atomic(durable=True):
        state = consent_state(subject=subject, purpose=PURPOSE, lock=True)
        capture = capture_for(subject=subject, capture_id=capture_id, lock=True)
        capture_erase(capture=capture)
        copies: dict[str, int] = {}
        # Stored reports show a thumbnail of the photo: no copy outlives the capture.
        # mutant: delete — tests/reports/test_report.py
        #   test_deleting_a_capture_leaves_no_copy_of_its_photo_in_a_stored_report
        copies.update(inventory.copies_erase("biometrics.captures", subject.pk))
        audit_record(
            actor=subject,
            subject=subject,
            action=AuditAction.CAPTURE_DELETED,
            object_type="capture",
            object_id=str(capture.pk),
            purpose=PURPOSE,
            data={"consent": state, **({"copies_erased": copies} if copies else {})},
        )
        subject_key_release(subject_id=subject.pk, actor=subject, reason="capture_deleted")


def subject_key_release(*, subject_id: int, actor: User | None, reason: str) -> bool:
    """Destroy the subject's data key, audited, if nothing readable needs it any more (no
    keyed store holds anything: ``inventory.keys_release``). Called by every deletion of
    keyed data, in its transaction with the subject's row locked. True if destroyed."""
    released = inventory.keys_release(subject_id)
    if released:
        audit_record(
            actor=actor,
            subject=SubjectRef(subject_id),
            action=AuditAction.SUBJECT_KEY_DESTROYED,
            object_type="subject_key",
            data={"reason": reason, "erased": released},
        )
    return bool(released)


def captures_erase(subject_id: int) -> int:
    """Every capture of a subject (inventory erase: withdrawal and account erasure)."""
    with transaction.atomic(savepoint=False):
        captures = Capture.objects.select_for_update().filter(subject_id=subject_id)
        return sum(capture_erase(capture=capture) for capture in captures)


def captures_count(subject_id: int) -> int:
    return Capture.objects.filter(subject_id=subject_id).count()


def challenges_erase(subject_id: int) -> int:
    with transaction.atomic(savepoint=False):
        return LivenessChallenge.objects.filter(subject_id=subject_id).delete()[0]


def challenges_count(subject_id: int) -> int:
    return LivenessChallenge.objects.filter(subject_id=subject_id).count()


def subject_key_erase(subject_id: int) -> int:
    """Crypto-shredding: after this, no copy of the subject's ciphertext opens again."""
    with transaction.atomic(savepoint=False):
        return vault.subject_key_destroy(subject_id=subject_id)


def subject_key_count(subject_id: int) -> int:
    return SubjectKey.objects.filter(subject_id=subject_id).count()


# --- retention ----------------------------------------------------------------------------------


def captures_expired_erase(now: datetime) -> inventory.Swept:
    """Captures past biometric_enrolment's retention (365 days after last use). Each is a
    deletion, so the subject's consent state is read through the gate first and counted."""
    swept = inventory.Swept()
    for capture in captures_expired(now=now, purpose=capture_retention(), limit=SWEEP_BATCH):
        state = consent_state(subject=capture.subject_id, purpose=PURPOSE)
        swept.consent[state] = swept.consent.get(state, 0) + 1
        swept.erased += capture_erase(capture=capture)
        # A stored report showing its photo goes with it, as at deletion.
        inventory.copies_erase("biometrics.captures", capture.subject_id)
    return swept


def subject_keys_expired_erase(now: datetime) -> inventory.Swept:
    """Data keys nothing readable needs any more: the sweep's last biometric rule (band
    ``KEYS``, after the results, reports and captures it just erased), so a key goes in the
    sweep that erased the last thing it opened. Each subject's row is locked first, as a
    capture being stored locks it before using the key; a row locked by someone else (a
    withdrawal, a capture) is skipped until the next sweep rather than waited for, since the
    sweep already holds row locks a withdrawal may wait on. Keys of subjects with a capture
    are skipped in the query: a capture needs its key."""
    swept = inventory.Swept()
    with_captures = Capture.objects.values("subject_id")
    candidates = SubjectKey.objects.exclude(subject_id__in=with_captures)
    for subject_id in list(candidates.values_list("subject_id", flat=True)):
        mine = User.objects.select_for_update(skip_locked=True).filter(pk=subject_id)
        if mine.values_list("pk", flat=True).first() is None:
            continue
        swept.erased += sum(inventory.keys_release(subject_id).values())
    return swept


def challenges_expired_erase(now: datetime) -> inventory.Swept:
    expired = LivenessChallenge.objects.filter(expires_at__lte=now).values_list("pk", flat=True)
    ids = list(expired[:SWEEP_BATCH])
    return inventory.Swept(LivenessChallenge.objects.filter(pk__in=ids).delete()[0])


def orphan_files_expired_erase(now: datetime) -> inventory.Swept:
    """Ciphertext files with no capture row: left only by a process killed between writing
    the file and committing (``capture_store`` deletes them otherwise)."""
    names = {_blob_capture_id(name): name for name in vault.blob_names(CAPTURE_FOLDER)}
    swept = inventory.Swept()
    ids = sorted(names)
    for start in range(0, len(ids), SWEEP_BATCH):
        chunk = [i for i in ids[start : start + SWEEP_BATCH] if _is_uuid(i)]
        known = {
            str(pk) for pk in Capture.objects.filter(pk__in=chunk).values_list("pk", flat=True)
        }
        for capture_id in ids[start : start + SWEEP_BATCH]:
            name = names[capture_id]
            if capture_id not in known and vault.blob_modified(name) < now - ORPHAN_AGE:
                swept.erased += vault.blob_delete(name)
    return swept


def _blob_capture_id(name: str) -> str:
    return name.rsplit("/", 1)[-1].split(".", 1)[0]


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --- master keys --------------------------------------------------------------------------------


def master_key_schedule(*, force: bool = False, now: datetime | None = None) -> dict[str, int]:
    """The master-key lifecycle, run by Celery beat and ``rotate_master_key``. In this order:
    a new current key once the current one is ``BIOMETRIC_KEY_ROTATION_DAYS`` old (or at once
    with ``force``, or when there is none); every subject key re-wrapped under it and the keys
    that then wrap nothing retired (``master_key_rotate``); retired keys past
    ``BACKUP_RETENTION_DAYS`` destroyed. Idempotent and resumable: a run killed anywhere leaves
    a state the next run finishes, starting with what a killed write or destruction left in the
    store (``_master_key_clear_leftovers``). One run at a time per key store."""
    now = now or timezone.now()
    with keystore.locked():
        _master_key_clear_leftovers()
        created = _master_key_create_if_due(force=force, now=now)
        rewrapped = master_key_rotate(now=now)
        destroyed = 0
        for entry in keystore.all_keys():
            due = entry.destroy_after()
            if due is None or due > now:
                continue
            try:
                destroyed += master_key_destroy(key_id=entry.key_id, now=now)
            except MasterKeyInUse:
                continue  # wrapped again by a racing capture: re-wrapped and retried next run
    return {"created": created, "rewrapped": rewrapped, "destroyed": destroyed}


def _master_key_clear_leftovers() -> None:
    """Overwrite and remove what a killed write (a temporary copy of a key) or destruction (a
    key renamed aside) left; only under the store's lock, when no write is in progress."""
    for file in keystore.leftovers():
        if not keystore.is_destroying(file):
            keystore.shred(file)  # a copy: the key's own file says what state it is in
            continue
        # The kill rolled back the destruction's audit event with its transaction, and the
        # key has been unreadable since its rename: the event is recorded as the file goes.
        key_id = keystore.leftover_key_id(file)
        with transaction.atomic(durable=True):
            _master_key_event(
                AuditAction.MASTER_KEY_DESTROYED, key_id, {"key_id": key_id, "resumed": True}
            )
            keystore.shred(file)


def _master_key_create_if_due(*, force: bool, now: datetime) -> int:
    # A store that cannot be read raises here: it is never papered over with a new key.
    live = [entry for entry in keystore.all_keys() if entry.retired_at is None]
    due = not live or now >= live[-1].created_at + keystore.rotation_period()
    if not (force or due):
        return 0
    with transaction.atomic(durable=True):
        # The file first: if the audit fails the key exists unaudited and unused by any row
        # yet; the other order could leave an audited key that was never made.
        entry = keystore.create(now=now)
        _master_key_event(AuditAction.MASTER_KEY_CREATED, entry.key_id, {"key_id": entry.key_id})
    return 1


def master_key_rotate(*, actor: User | None = None, now: datetime | None = None) -> int:
    """Re-wrap every subject key not yet under the current master key, then retire every other
    key that no longer wraps any; returns how many were re-wrapped. Idempotent: a second run
    finds none. One MASTER_KEY_ROTATED event with the count, one MASTER_KEY_RETIRED per key."""
    current = keystore.current().key_id
    with transaction.atomic(durable=True):
        rewrapped = 0
        for row in SubjectKey.objects.select_for_update().exclude(key_id=current):
            vault.subject_key_rewrap(row)
            rewrapped += 1
        _master_key_event(
            AuditAction.MASTER_KEY_ROTATED,
            current,
            {"key_id": current, "rewrapped": rewrapped},
            actor=actor,
        )
    for entry in keystore.all_keys():
        if entry.retired_at is None and entry.key_id != current:
            _master_key_retire(entry.key_id, now=now or timezone.now())
    return rewrapped


def _master_key_retire(key_id: str, *, now: datetime) -> None:
    with transaction.atomic(durable=True):
        if SubjectKey.objects.select_for_update().filter(key_id=key_id).exists():
            return  # wrapped while we re-wrapped (a capture racing the rotation): next run
        _master_key_event(AuditAction.MASTER_KEY_RETIRED, key_id, {"key_id": key_id})
        keystore.retire(key_id, now=now)  # last: if it fails, the event rolls back


class MasterKeyInUse(RuntimeError):
    """A master key still wraps a live subject key, or is not due: it is not destroyed."""


def master_key_destroy(*, key_id: str, now: datetime | None = None) -> int:
    """Destroy a retired master key whose backup retention has passed; 1 if destroyed.

    Refuses (``MasterKeyInUse``) while any subject key is still wrapped under it: destroying
    it would destroy live data, not only backups. The audit event and the file's destruction
    share the transaction; the file goes last so a failure there rolls the event back."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        entry = keystore.get(key_id)
        if entry is None:
            return 0
        due = entry.destroy_after()
        if due is None or due > now:
            raise MasterKeyInUse(f"master key {key_id!r} is not retired past the retention")
        assert entry.retired_at is not None  # a key with a destruction date is retired
        if SubjectKey.objects.select_for_update().filter(key_id=key_id).exists():
            raise MasterKeyInUse(f"master key {key_id!r} still wraps a subject key")
        _master_key_event(
            AuditAction.MASTER_KEY_DESTROYED,
            key_id,
            {"key_id": key_id, "retired_at": entry.retired_at.isoformat()},
        )
        keystore.destroy(key_id)
    return 1


def _master_key_event(
    action: AuditAction, key_id: str, data: dict[str, Any], *, actor: User | None = None
) -> None:
    audit_record(
        actor=actor,
        subject=None,
        action=action,
        object_type="master_key",
        object_id=key_id,
        data=data,
    )
