"""The project's own Celery tasks (the apps' are in their ``tasks`` modules)."""

from __future__ import annotations

from celery import shared_task

from compliance_site import jobs


@shared_task(name="compliance_site.tasks.jobs_recover", acks_late=True, ignore_result=True)
def jobs_recover_task() -> dict[str, dict[str, int]]:
    """Scheduled by ``CELERY_BEAT_SCHEDULE['jobs-recover']``: re-queue, send again or fail the
    background jobs of every kind whose worker went quiet or whose message was lost. Safe to
    run at any time, twice at once included (rows are locked)."""
    return jobs.recover_all()
