"""A job's life after it is queued: checked again when claimed, stopped between frames by
cancellation, withdrawal or erasure, recovered after its worker died, idempotent on a second
delivery, its progress throttled, its result expired by the retention sweep (24 hours, or
30 days under output_storage), signed with C2PA when configured.

Engine calls are counted with a spy around the real engine (``jobkit.EngineSpy``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.services import retention_sweep
from biometrics import vault
from biometrics.services import capture_delete
from compliance_site import inventory
from consent.ledger.services import policy_publish
from swap.engines.content_credentials import c2pa_available
from swap.models import DepictedPersonConsent, SwapJob
from swap.services import (
    swap_job_claim,
    swap_job_delete,
    swap_jobs_recover,
    swap_template_consent_withdraw,
)
from swap.tasks import swap_job_run_task
from tests.erasure.kit import client_for, subject_reference_hits
from tests.factories import StaffFactory
from tests.swap.jobkit import (
    CLIP_FRAMES,
    EngineSpy,
    expire_depicted_consent,
    make_template,
    open_result,
    request_swap,
    withdraw,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(ready, django_capture_on_commit_callbacks):
    """``queued(template)`` → (job, tasks): a job requested through the API whose task was
    queued on commit but has not run; ``for task in tasks: task()`` delivers it."""

    def make(template):
        api, capture = ready
        with django_capture_on_commit_callbacks() as tasks:
            job_id = request_swap(api, capture, template).json()["id"]
        return SwapJob.objects.get(pk=job_id), tasks

    return make


def deliver(tasks) -> None:
    for task in tasks:
        task()


def names(audit_events, start: int) -> list[str]:
    return [name for name, _data in audit_events()[start:]]


def result_files(media_root) -> list:
    folder = media_root / "swap_results"
    return sorted(folder.iterdir()) if folder.exists() else []


# --- cancelled before it runs -------------------------------------------------------------------


def test_a_queued_job_cancelled_by_withdrawal_never_runs_the_engine(
    alice, queued, image_template, monkeypatch, audit_events, _media_root
):
    spy = EngineSpy(monkeypatch)
    job, tasks = queued(image_template)
    start = len(audit_events())

    withdraw(alice, "face_swap")
    deliver(tasks)

    assert spy.calls == 0
    assert not SwapJob.objects.filter(pk=job.pk).exists() and result_files(_media_root) == []
    events = audit_events()[start:]
    assert [name for name, _ in events] == ["SWAP_JOB_CANCELLED", "CONSENT_WITHDRAWN"]
    assert events[0][1] == {"reason": "erased"}
    assert events[1][1]["erased"] == {"swap.access_links": 0, "swap.jobs": 1}


def test_the_engine_spy_counts_the_calls_of_a_job_that_runs(queued, clip_template, monkeypatch):
    spy = EngineSpy(monkeypatch)
    job, tasks = queued(clip_template)

    deliver(tasks)

    assert SwapJob.objects.get(pk=job.pk).status == "done"
    assert spy.calls == CLIP_FRAMES


def test_a_job_whose_consent_is_outdated_when_claimed_is_cancelled_without_running(
    queued, image_template, monkeypatch, audit_events
):
    spy = EngineSpy(monkeypatch)
    job, tasks = queued(image_template)
    texts = {"en": "Face swap v2\n\nNew terms.\n", "zh-hans": "换脸 第二版\n\n新条款。\n"}
    policy_publish(purpose="face_swap", texts=texts, actor=StaffFactory(is_superuser=True))
    start = len(audit_events())

    deliver(tasks)

    job.refresh_from_db()
    assert spy.calls == 0
    assert (job.status, job.error, job.result) == ("cancelled", "consent_outdated", "")
    assert audit_events()[start:] == [("SWAP_JOB_CANCELLED", {"reason": "consent_outdated"})]


def test_a_queued_job_on_a_template_whose_depicted_person_withdrew_is_cancelled_and_never_runs(
    queued, image_template, monkeypatch, audit_events
):
    spy = EngineSpy(monkeypatch)
    job, tasks = queued(image_template)
    start = len(audit_events())
    swap_template_consent_withdraw(consent=image_template.depicted_consent, actor=None)

    deliver(tasks)

    job.refresh_from_db()
    assert spy.calls == 0
    assert (job.status, job.error) == ("cancelled", "depicted_consent_withdrawn")
    assert names(audit_events, start) == ["SWAP_JOB_CANCELLED", "SWAP_TEMPLATE_CONSENT_WITHDRAWN"]


def test_a_job_that_slipped_in_past_the_depicted_withdrawal_fails_when_claimed(
    queued, image_template, monkeypatch, audit_events
):
    # The race the template's lock closes: a job committed as if after the withdrawal had
    # cancelled the template's jobs. The claim's own check of the template refuses it.
    spy = EngineSpy(monkeypatch)
    job, tasks = queued(image_template)
    DepictedPersonConsent.objects.filter(template=image_template).update(
        withdrawn_at=timezone.now()
    )
    start = len(audit_events())

    deliver(tasks)

    job.refresh_from_db()
    assert spy.calls == 0
    assert (job.status, job.error) == ("failed", "depicted_consent_withdrawn")
    assert names(audit_events, start) == ["SWAP_JOB_FAILED"]


def test_a_job_on_a_template_whose_depicted_consent_expired_while_queued_fails_when_claimed(
    queued, image_template, monkeypatch, audit_events
):
    spy = EngineSpy(monkeypatch)
    job, tasks = queued(image_template)
    expire_depicted_consent(image_template)
    start = len(audit_events())

    deliver(tasks)

    job.refresh_from_db()
    assert spy.calls == 0
    assert (job.status, job.error) == ("failed", "depicted_consent_expired")
    assert names(audit_events, start) == ["SWAP_JOB_FAILED"]


def test_a_job_whose_capture_was_deleted_while_queued_fails_with_a_reason(
    alice, queued, image_template, monkeypatch, audit_events
):
    spy = EngineSpy(monkeypatch)
    job, tasks = queued(image_template)

    capture_delete(subject=alice, capture_id=job.capture_id)
    start = len(audit_events())
    deliver(tasks)

    job.refresh_from_db()
    assert spy.calls == 0 and (job.status, job.error) == ("failed", "capture_deleted")
    assert audit_events()[start:] == [("SWAP_JOB_FAILED", {"reason": "capture_deleted"})]


@pytest.mark.parametrize(("kind", "code"), [("image", "corrupt_image"), ("video", "corrupt_video")])
def test_a_job_on_a_template_file_damaged_in_storage_fails_with_a_reason(
    alice, ready, queued, kind, code, _media_root
):
    template = make_template(kind)
    stored = _media_root / template.file.name
    data = stored.read_bytes()
    stored.write_bytes(data[: len(data) // 3])  # cut short
    job, tasks = queued(template)

    deliver(tasks)

    job.refresh_from_db()
    assert (job.status, job.error, job.result) == ("failed", code, "")
    api, _capture = ready
    assert api.get(f"/api/v1/swaps/{job.pk}").json()["error"] == code
    assert api.get(f"/api/v1/swaps/{job.pk}/result").status_code == 409


# --- stopped while it runs ----------------------------------------------------------------------


def test_the_subject_cancelling_a_running_clip_stops_it_between_frames(
    alice, queued, clip_template, monkeypatch, audit_events, _media_root
):
    job, tasks = queued(clip_template)

    def cancel_on_third_frame(call: int) -> None:
        if call == 3:
            assert swap_job_delete(subject=alice, job_id=job.pk).status == "cancelled"

    spy = EngineSpy(monkeypatch, on_call=cancel_on_third_frame)
    start = len(audit_events())
    deliver(tasks)

    job.refresh_from_db()
    assert 3 <= spy.calls < CLIP_FRAMES
    assert (job.status, job.error, job.result) == ("cancelled", "cancelled_by_subject", "")
    assert result_files(_media_root) == []
    assert names(audit_events, start) == ["SWAP_JOB_STARTED", "CAPTURE_USED", "SWAP_JOB_CANCELLED"]


def test_withdrawing_face_swap_while_a_clip_runs_stops_it_and_keeps_nothing(
    alice, queued, clip_template, monkeypatch, audit_events, _media_root, caplog
):
    job, tasks = queued(clip_template)
    spy = EngineSpy(monkeypatch, on_call=lambda call: call == 2 and withdraw(alice, "face_swap"))
    # Progress is written after every frame, the gone row's included: not an error.
    monkeypatch.setattr("swap.services.PROGRESS_EVERY", 0.0)
    start = len(audit_events())

    deliver(tasks)

    assert not [record for record in caplog.records if record.levelname == "ERROR"]
    assert spy.calls < CLIP_FRAMES
    assert not SwapJob.objects.filter(pk=job.pk).exists() and result_files(_media_root) == []
    assert names(audit_events, start) == [
        "SWAP_JOB_STARTED",
        "CAPTURE_USED",
        "SWAP_JOB_CANCELLED",
        "CONSENT_WITHDRAWN",
    ]


def test_a_running_clip_stops_when_its_subjects_account_is_erased(
    alice, queued, clip_template, monkeypatch, django_capture_on_commit_callbacks, _media_root
):
    from consent.erasure.services import erasure_request

    job, tasks = queued(clip_template)

    def erase_account(call: int) -> None:
        if call == 2:
            with django_capture_on_commit_callbacks(execute=True):
                erasure_request(subject=alice)

    spy = EngineSpy(monkeypatch, on_call=erase_account)
    deliver(tasks)

    assert spy.calls < CLIP_FRAMES
    assert not SwapJob.objects.exists() and result_files(_media_root) == []
    assert all(refs == [] for refs in inventory.locate_all(alice.pk).values())
    assert subject_reference_hits(alice.pk) == []


# --- a worker that died -------------------------------------------------------------------------


def test_a_job_whose_worker_died_is_queued_again_and_then_finishes(
    queued, image_template, settings, django_capture_on_commit_callbacks, audit_events
):
    job, _lost_message = queued(image_template)
    assert swap_job_claim(job_id=job.pk) is not None  # the worker took it, then was killed
    start = len(audit_events())

    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SWAP_STALE_AFTER - 5)):
        assert swap_jobs_recover() == {"requeued": 0, "failed": 0, "resent": 0}
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SWAP_STALE_AFTER + 5)):
        with django_capture_on_commit_callbacks(execute=True):
            counts = swap_jobs_recover()

    job.refresh_from_db()
    assert counts == {"requeued": 1, "failed": 0, "resent": 0}
    assert (job.status, job.attempts) == ("done", 2)
    events = audit_events()[start:]
    assert [name for name, _ in events] == [
        "SWAP_JOB_RETRIED",
        "SWAP_JOB_STARTED",
        "CAPTURE_USED",
        "SWAP_JOB_DONE",
    ]
    assert events[0][1] == {"attempts": 1, "reason": "worker_lost"}


def test_a_job_whose_worker_died_too_often_fails_with_worker_lost(
    queued, image_template, settings, audit_events
):
    settings.SWAP_MAX_ATTEMPTS = 1
    job, _lost = queued(image_template)
    swap_job_claim(job_id=job.pk)

    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SWAP_STALE_AFTER + 5)):
        counts = swap_jobs_recover()

    job.refresh_from_db()
    assert counts == {"requeued": 0, "failed": 1, "resent": 0}
    assert (job.status, job.error) == ("failed", "worker_lost")
    assert audit_events()[-1] == ("SWAP_JOB_FAILED", {"reason": "worker_lost"})
    # Nothing stays running, and a later recovery finds nothing to do.
    assert not SwapJob.objects.filter(status="running").exists()
    assert swap_jobs_recover() == {"requeued": 0, "failed": 0, "resent": 0}


def test_a_pending_job_whose_message_was_lost_is_sent_again(
    queued, image_template, settings, django_capture_on_commit_callbacks
):
    job, _lost = queued(image_template)

    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SWAP_STALE_AFTER + 5)):
        with django_capture_on_commit_callbacks(execute=True):
            counts = swap_jobs_recover()

    job.refresh_from_db()
    assert counts == {"requeued": 0, "failed": 0, "resent": 1}
    assert job.status == "done"


def test_a_worker_whose_claim_was_taken_over_drops_its_output(
    queued, image_template, settings, monkeypatch
):
    job, _lost = queued(image_template)
    stale = swap_job_claim(job_id=job.pk)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SWAP_STALE_AFTER + 5)):
        swap_jobs_recover()
    fresh = swap_job_claim(job_id=job.pk)

    from swap import services

    services._result_store(stale, b"late output of the first worker")

    job.refresh_from_db()
    assert fresh is not None and (job.status, job.claim) == ("running", fresh.claim)
    assert job.result == ""


def test_a_second_delivery_of_a_finished_job_does_nothing(
    queued, image_template, monkeypatch, audit_events
):
    job, tasks = queued(image_template)
    deliver(tasks)
    spy = EngineSpy(monkeypatch)
    done = SwapJob.objects.get(pk=job.pk)
    start = len(audit_events())

    swap_job_run_task.delay(str(job.pk))
    swap_job_run_task.delay("not-a-job-id")

    assert spy.calls == 0 and audit_events()[start:] == []
    again = SwapJob.objects.get(pk=job.pk)
    assert (again.status, again.result, again.finished_at) == (
        "done",
        done.result,
        done.finished_at,
    )


# --- progress -----------------------------------------------------------------------------------


def test_progress_is_saved_throttled_and_rises_to_100(queued, clip_template, monkeypatch):
    job, tasks = queued(clip_template)
    seen = []
    EngineSpy(
        monkeypatch,
        on_call=lambda call: seen.append(SwapJob.objects.get(pk=job.pk).progress),
    )
    monkeypatch.setattr("swap.services.PROGRESS_EVERY", 0.0)  # every change, to watch it rise

    with CaptureQueriesContext(connection) as queries:
        deliver(tasks)

    writes = [
        q["sql"] for q in queries if q["sql"].startswith('UPDATE "swap_swapjob" SET "progress"')
    ]
    assert seen == sorted(seen) and seen[0] == 0 and seen[-1] > 50
    assert SwapJob.objects.get(pk=job.pk).progress == 100
    assert 0 < len(writes) <= CLIP_FRAMES  # unthrottled: at most one per frame


def test_with_the_default_throttle_a_clip_does_not_write_its_row_every_frame(queued, clip_template):
    job, tasks = queued(clip_template)

    with CaptureQueriesContext(connection) as queries:
        deliver(tasks)

    writes = [q for q in queries if q["sql"].startswith('UPDATE "swap_swapjob" SET "progress"')]
    assert SwapJob.objects.get(pk=job.pk).status == "done"
    assert len(writes) <= CLIP_FRAMES // 4


# --- retention ----------------------------------------------------------------------------------


def test_a_result_is_erased_by_the_sweep_after_24_hours(
    queued, image_template, audit_events, _media_root
):
    job, tasks = queued(image_template)
    deliver(tasks)
    job.refresh_from_db()
    assert not job.stored and job.expires_at - job.finished_at == timedelta(days=1)

    with time_machine.travel(job.finished_at + timedelta(hours=23)):
        assert retention_sweep()["swap.results"] == 0
    with time_machine.travel(job.finished_at + timedelta(hours=25)):
        counts = retention_sweep()

    assert counts["swap.results"] == 1
    assert not SwapJob.objects.exists() and result_files(_media_root) == []
    name, data = audit_events()[-1]
    assert name == "RETENTION_SWEPT" and data["consent"]["swap.results"] == {"granted": 1}


def test_with_output_storage_a_result_is_kept_30_days(
    alice, grant_consent, queued, image_template, _media_root
):
    grant_consent(alice, "output_storage")
    job, tasks = queued(image_template)
    deliver(tasks)
    job.refresh_from_db()
    assert job.stored and job.expires_at - job.finished_at == timedelta(days=30)

    with time_machine.travel(job.finished_at + timedelta(days=29)):
        counts = retention_sweep()
    assert counts["swap.results"] == 0 and counts["swap.orphan_files"] == 0  # its file is named
    assert SwapJob.objects.filter(pk=job.pk).exists() and len(result_files(_media_root)) == 1
    with time_machine.travel(job.finished_at + timedelta(days=31)):
        assert retention_sweep()["swap.results"] == 1
    assert not SwapJob.objects.exists() and result_files(_media_root) == []


def test_a_young_kept_result_becomes_a_24_hour_result_and_face_swap_withdrawal_erases_it(
    alice, grant_consent, queued, image_template
):
    day_only, tasks = queued(image_template)
    deliver(tasks)
    grant_consent(alice, "output_storage")
    kept, tasks = queued(image_template)
    deliver(tasks)
    assert dict(SwapJob.objects.values_list("pk", "stored")) == {day_only.pk: False, kept.pk: True}

    withdraw(alice, "output_storage")  # made a moment ago: kept its 24 hours, no longer stored
    assert dict(SwapJob.objects.values_list("pk", "stored")) == {day_only.pk: False, kept.pk: False}
    withdraw(alice, "face_swap")
    assert not SwapJob.objects.exists()


def test_a_result_file_left_by_a_killed_worker_is_swept_a_day_later(_media_root):
    name = vault.blob_save("swap_results/00000000-0000-4000-8000-000000000000.result", b"FLD1x")

    assert retention_sweep()["swap.orphan_files"] == 0
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert retention_sweep()["swap.orphan_files"] == 1
    assert not (_media_root / name).exists()


# --- erasure, C2PA ------------------------------------------------------------------------------


def test_account_erasure_erases_jobs_results_and_every_reference(
    alice, bob, enrolled, grant_consent, queued, image_template, django_capture_on_commit_callbacks,
    _media_root,
):  # fmt: skip
    from consent.erasure.services import erasure_request

    job, tasks = queued(image_template)
    deliver(tasks)
    job.refresh_from_db()
    assert (_media_root / job.result).exists()
    [bobs] = enrolled(bob)
    grant_consent(bob, "face_swap")
    with django_capture_on_commit_callbacks(execute=True):
        request_swap(client_for(bob), bobs, image_template)
    assert {"swap.jobs"} <= {n for n, refs in inventory.locate_all(alice.pk).items() if refs}

    with django_capture_on_commit_callbacks(execute=True):
        erasure_request(subject=alice)

    assert all(refs == [] for refs in inventory.locate_all(alice.pk).values())
    assert subject_reference_hits(alice.pk) == []
    assert not (_media_root / job.result).exists()
    assert SwapJob.objects.filter(subject=bob, status="done").count() == 1


def test_the_inventory_exports_jobs_without_a_byte_of_the_result(alice, queued, image_template):
    job, tasks = queued(image_template)
    deliver(tasks)
    job.refresh_from_db()

    [entry] = inventory.export_all(alice.pk)["swap.jobs"]
    located = inventory.locate_all(alice.pk)

    assert entry["id"] == str(job.pk) and entry["status"] == "done"
    assert entry["result"] == "image/png" and entry["template"] == image_template.title
    assert located["swap.jobs"] == [f"swap_job:{job.pk}", f"file:{job.result}"]
    assert located["swap.stored_results"] == []


def test_the_subjects_own_copy_holds_each_result_decrypted(alice, bob, queued, image_template):
    job, tasks = queued(image_template)
    deliver(tasks)
    job.refresh_from_db()

    files = [
        (store, item) for store, item in inventory.files_all(alice.pk) if store.startswith("swap")
    ]

    [(store, item)] = files
    assert store == "swap.jobs" and item.ref == str(job.pk)
    assert item.name == f"{job.pk}.png" and item.content_type == "image/png"
    assert item.data == open_result(job, vault.subject_key(alice.pk))
    assert not [s for s, _ in inventory.files_all(bob.pk) if s.startswith("swap")]


@pytest.mark.skipif(not c2pa_available(), reason="c2pa-python is not available")
def test_with_c2pa_credentials_set_results_carry_a_signed_manifest_naming_the_job(
    alice, queued, image_template, settings, tmp_path
):
    from compliance_site import devkeys
    from swap.engines.content_credentials import c2pa_read

    chain, key = devkeys.c2pa_dev_credentials(tmp_path)
    settings.SWAP_C2PA_CERT_CHAIN, settings.SWAP_C2PA_PRIVATE_KEY = chain, key
    ca = chain[chain.index("-----BEGIN CERTIFICATE-----", 1) :].encode()
    job, tasks = queued(image_template)

    deliver(tasks)

    job.refresh_from_db()
    assert job.result_c2pa
    manifest = c2pa_read(
        open_result(job, vault.subject_key(alice.pk)), mime_type="image/png", trust_anchors_pem=ca
    )
    assert manifest["state"] == "Trusted" and manifest["job_id"] == str(job.pk)


# --- what only the checks between frames and before storing catch -------------------------------
# Each of these changes the state the worker reads without touching the job's row, so only the
# check named in the test can stop the job (tests/mutation.py proves it: remove that check and
# the test fails).

FACE_SWAP_V2 = {"en": "Face swap v2\n\nNew terms.\n", "zh-hans": "换脸 第二版\n\n新条款。\n"}


def _publish_face_swap_v2() -> None:
    policy_publish(purpose="face_swap", texts=FACE_SWAP_V2, actor=StaffFactory(is_superuser=True))


def test_a_policy_published_while_a_clip_runs_stops_it_between_frames(
    queued, clip_template, monkeypatch, audit_events, _media_root
):
    job, tasks = queued(clip_template)
    spy = EngineSpy(monkeypatch, on_call=lambda call: call == 2 and _publish_face_swap_v2())
    start = len(audit_events())

    deliver(tasks)

    job.refresh_from_db()
    assert spy.calls < CLIP_FRAMES  # stopped at the next check, not by the final one
    assert (job.status, job.error, job.result) == ("cancelled", "consent_outdated", "")
    assert result_files(_media_root) == []
    assert names(audit_events, start)[-1] == "SWAP_JOB_CANCELLED"


def test_a_policy_published_during_the_last_frame_keeps_no_result(
    queued, image_template, monkeypatch, audit_events, _media_root
):
    # A still has no check between frames: the gate before storing is the only one left.
    job, tasks = queued(image_template)
    spy = EngineSpy(monkeypatch, on_call=lambda call: _publish_face_swap_v2())
    start = len(audit_events())

    deliver(tasks)

    job.refresh_from_db()
    assert spy.calls == 1
    assert (job.status, job.error, job.result) == ("cancelled", "consent_outdated", "")
    assert result_files(_media_root) == []
    assert audit_events()[start:][-1] == ("SWAP_JOB_CANCELLED", {"reason": "consent_outdated"})


def test_deleting_the_capture_while_a_clip_runs_stops_it_between_frames(
    alice, queued, clip_template, monkeypatch, _media_root
):
    job, tasks = queued(clip_template)

    def delete_capture(call: int) -> None:
        if call == 2:
            capture_delete(subject=alice, capture_id=job.capture_id)

    spy = EngineSpy(monkeypatch, on_call=delete_capture)
    deliver(tasks)

    job.refresh_from_db()
    assert spy.calls < CLIP_FRAMES
    assert (job.status, job.error, job.result) == ("cancelled", "capture_deleted", "")
    assert result_files(_media_root) == []


def test_a_worker_whose_claim_was_taken_over_mid_clip_stops_between_frames(
    queued, clip_template, settings, monkeypatch, _media_root
):
    job, tasks = queued(clip_template)
    fresh = []

    def take_over(call: int) -> None:
        if call == 2:
            later = timezone.now() + timedelta(seconds=settings.SWAP_STALE_AFTER + 5)
            with time_machine.travel(later):
                swap_jobs_recover()
            fresh.append(swap_job_claim(job_id=job.pk))

    spy = EngineSpy(monkeypatch, on_call=take_over)
    deliver(tasks)

    job.refresh_from_db()
    assert spy.calls < CLIP_FRAMES
    assert fresh[0] is not None and (job.status, job.claim, job.result) == (
        "running",
        fresh[0].claim,
        "",
    )
    assert result_files(_media_root) == []


def _publish_biometric_v_next() -> None:
    from consent.ledger.models import PolicyText, Purpose

    current = Purpose.objects.get(code="biometric_enrolment").current_version
    texts = {t.language: t.text + "\n\nRevised." for t in PolicyText.objects.filter(policy=current)}
    policy_publish(
        purpose="biometric_enrolment", texts=texts, actor=StaffFactory(is_superuser=True)
    )


def test_a_biometric_text_published_while_a_clip_runs_stops_it_and_keeps_no_result(
    queued, clip_template, image_template, monkeypatch, _media_root
):
    """The capture is used only while biometric_enrolment is current: a new text of it stops a
    running clip between frames, and a still at its storing, as a new face_swap text does."""
    clip, clip_tasks = queued(clip_template)
    still, still_tasks = queued(image_template)
    spy = EngineSpy(monkeypatch, on_call=lambda call: call == 2 and _publish_biometric_v_next())

    deliver(clip_tasks)

    clip.refresh_from_db()
    assert spy.calls < CLIP_FRAMES
    assert (clip.status, clip.error, clip.result) == ("cancelled", "consent_outdated", "")
    assert result_files(_media_root) == []
    deliver(still_tasks)  # its run opens no capture under the outdated text
    still.refresh_from_db()
    assert (still.status, still.error, still.result) == ("cancelled", "consent_outdated", "")


def test_a_biometric_text_published_during_a_stills_frame_keeps_no_result(
    queued, image_template, monkeypatch, _media_root
):
    job, tasks = queued(image_template)
    EngineSpy(monkeypatch, on_call=lambda call: _publish_biometric_v_next())

    deliver(tasks)

    job.refresh_from_db()
    assert (job.status, job.error, job.result) == ("cancelled", "consent_outdated", "")
    assert result_files(_media_root) == []


def test_a_clip_swap_writes_no_file_but_its_encrypted_result(
    queued, clip_template, monkeypatch, tmp_path, _media_root
):
    """ "We decrypt your face template in memory": making a clip opens no temporary file (the
    standard library's temporary files are refused; the temporary folder stays empty) and
    leaves exactly one new file, the result, which is ciphertext."""
    import tempfile

    def refused(*args, **kwargs):
        raise AssertionError("a temporary file was asked for")

    for name in (
        "mkstemp",
        "mkdtemp",
        "NamedTemporaryFile",
        "TemporaryFile",
        "SpooledTemporaryFile",
    ):
        monkeypatch.setattr(tempfile, name, refused)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    job, tasks = queued(clip_template)
    before = {p for p in _media_root.rglob("*") if p.is_file()}

    deliver(tasks)

    job.refresh_from_db()
    assert job.status == "done", job.error
    after = {p for p in _media_root.rglob("*") if p.is_file()}
    [new] = after - before
    assert new.name == job.result.split("/")[-1]
    assert b"ftyp" not in new.read_bytes()[:64]  # not an MP4 in clear
    assert list(scratch.iterdir()) == []
