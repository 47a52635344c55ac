"""The job helper (``compliance_site.jobs``) every kind of background job uses: one claim,
one progress writer, one finish, one beat task that recovers every kind.

Its rules are shown on the report jobs (the simplest model); each kind's own tests
(tests/swap/test_jobs_lifecycle.py, tests/erasure/test_erasure.py, tests/reports/) show the
same machinery under that kind's rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from compliance_site import jobs
from compliance_site.tasks import jobs_recover_task
from consent.erasure.models import ErasureRequest
from consent.erasure.services import ERASURE_JOBS
from consent.reports.models import ReportJob
from consent.reports.services import REPORT_JOBS
from swap.services import SWAP_JOBS

pytestmark = pytest.mark.django_db


def _report_job(subject, **fields) -> ReportJob:
    return ReportJob.objects.create(
        subject=subject, language="en", expires_at=timezone.now() + timedelta(days=1), **fields
    )


def test_every_kind_is_declared_once_and_one_beat_entry_recovers_them_all():
    from compliance_site.settings import base

    assert {SWAP_JOBS, ERASURE_JOBS, REPORT_JOBS} <= set(jobs.kinds())
    tasks = [entry["task"] for entry in base.CELERY_BEAT_SCHEDULE.values()]
    assert tasks.count(jobs_recover_task.name) == 1
    assert not [task for task in tasks if "recover" in task and task != jobs_recover_task.name]


def test_a_job_is_claimed_once_and_a_malformed_id_claims_nothing(alice):
    job = _report_job(alice)

    first = jobs.claim(REPORT_JOBS, str(job.pk))

    assert first is not None and first.row.status == "running" and first.row.claimed_at
    assert jobs.claim(REPORT_JOBS, job.pk) is None  # a second delivery
    assert jobs.claim(REPORT_JOBS, "not-a-job-id") is None


def test_progress_rises_and_writes_nothing_for_a_row_deleted_meanwhile(alice):
    claim = jobs.claim(REPORT_JOBS, _report_job(alice).pk)
    progress = jobs.Progress(claim, every=0.0)

    progress(40)
    progress(30)  # never backwards
    assert ReportJob.objects.get(pk=claim.pk).progress == 40
    progress(100)  # 100 is the end's, not the progress writer's
    assert ReportJob.objects.get(pk=claim.pk).progress == 99

    ReportJob.objects.filter(pk=claim.pk).delete()
    progress(99)  # not an error
    assert jobs.heartbeat(claim, progress=50) is False
    assert jobs.finish(claim, "done") is False


def test_a_job_is_finished_once(alice, audit_events):
    claim = jobs.claim(REPORT_JOBS, _report_job(alice).pk)

    assert jobs.finish(claim, "done", progress=100) is True
    assert jobs.finish(claim, "failed", error="late") is False  # ended already
    assert jobs.heartbeat(claim, progress=5) is False
    job = ReportJob.objects.get(pk=claim.pk)
    assert (job.status, job.progress, job.error) == ("done", 100, "")
    assert job.completed_at is not None


def test_the_beat_task_fails_a_lost_report_and_requeues_a_lost_erasure(
    alice, bob, settings, audit_events, django_capture_on_commit_callbacks, time_machine
):
    lost_report = _report_job(alice)
    request = ErasureRequest.objects.create(token_digest="0" * 64, subject_ref=bob.pk)
    ErasureRequest.objects.filter(pk=request.pk).update(status="running")
    fresh_report = _report_job(alice)
    time_machine.move_to(timezone.now() + timedelta(seconds=settings.ERASURE_RETRY_AFTER + 1))
    # Only the fresh report is younger than its stale-after.
    ReportJob.objects.filter(pk=fresh_report.pk).update(requested_at=timezone.now())
    time_machine.move_to(timezone.now() + timedelta(seconds=5))
    start = len(audit_events())

    with django_capture_on_commit_callbacks() as queued:
        counts = jobs_recover_task.delay().get()

    assert counts["consent.reports"] == {"requeued": 0, "failed": 1, "resent": 0}
    assert counts["consent.erasure"] == {"requeued": 1, "failed": 0, "resent": 0}
    assert counts["swap.jobs"] == {"requeued": 0, "failed": 0, "resent": 0}
    lost_report.refresh_from_db()
    request.refresh_from_db()
    assert (lost_report.status, lost_report.error) == ("failed", "worker_lost")
    assert ReportJob.objects.get(pk=fresh_report.pk).status == "pending"
    assert request.status == "pending" and len(queued) == 1  # sent once it committed
    assert audit_events()[start:] == [("REPORT_FAILED", {"error": "worker_lost"})]
    # Run again at once: nothing is stale any more.
    again = jobs.recover_all()
    assert all(count == 0 for kind in again.values() for count in kind.values())
