from celery import shared_task

from consent.erasure import erasure_run
from consent.reports import report_job_run
from consent.services import identity_prune
from consent.session_numbers import session_numbers_prune


@shared_task(name="consent.tasks.identity_prune", acks_late=True)
def identity_prune_task() -> dict[str, int]:
    """Scheduled by ``CELERY_BEAT_SCHEDULE['identity-prune']``; safe to run at any time."""
    return identity_prune()


@shared_task(name="consent.tasks.session_numbers_prune", acks_late=True)
def session_numbers_prune_task() -> dict[str, int]:
    """Scheduled by ``CELERY_BEAT_SCHEDULE['session-numbers-prune']``: numbers held for codes
    that expired, and expired sessions. Safe to run at any time."""
    return session_numbers_prune()


@shared_task(name="consent.tasks.erasure_run", acks_late=True, ignore_result=True)
def erasure_run_task(request_id: str) -> None:
    """Run or resume one account erasure (``consent.erasure``). Idempotent: a duplicate or
    late delivery finds the request done or held by a live run, and does nothing. A failure
    leaves the request running; the jobs' beat task (``compliance_site.tasks.jobs_recover``)
    queues it again once its heartbeat is stale."""
    erasure_run(request_id=request_id)


@shared_task(name="consent.tasks.report_job_run", acks_late=True, ignore_result=True)
def report_job_run_task(job_id: str) -> None:
    """Make one queued user-data report (``consent.reports``). A duplicate delivery finds the
    job claimed and does nothing; a job whose worker died is failed by the jobs' beat task, or
    at once when the subject asks again, and swept with the rest after ``REPORT_TTL``."""
    report_job_run(job_id=job_id)
