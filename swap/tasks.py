"""Celery tasks: they take ids and call a service (STYLE). ``acks_late``: a message is
acknowledged once its task has run, so a worker that dies mid-task leaves it to be delivered
again (brokers that can; the beat task ``compliance_site.tasks.jobs_recover`` covers the rest)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from swap.models import SwapJob
from swap.services import swap_job_run


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
