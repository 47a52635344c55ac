"""Celery tasks: they take ids and call a service (STYLE). ``acks_late``: a message is
acknowledged once its task has run, so a worker that dies mid-task leaves it to be delivered
again (brokers that can; ``swap_jobs_recover`` covers the rest)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from swap.models import SwapJob
from swap.services import swap_job_run, swap_jobs_recover


@shared_task(
    name="swap.tasks.swap_job_run",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def swap_job_run_task(job_id: str) -> None:
    """Run one swap job. Idempotent: a second delivery, or a retry, finds the job claimed,
    finished or gone (the claim is a conditional update) and does nothing."""
    try:
        swap_job_run(job_id=job_id)
    except SwapJob.DoesNotExist:
        return  # deleted (by its subject, a withdrawal or an erasure) while it was queued


@shared_task(name="swap.tasks.swap_jobs_recover", acks_late=True, ignore_result=True)
def swap_jobs_recover_task() -> dict[str, int]:
    """Scheduled by ``CELERY_BEAT_SCHEDULE['swap-recover']``: re-queue or fail the jobs whose
    worker went quiet. Safe to run at any time, twice at once included (rows are locked)."""
    return swap_jobs_recover()
