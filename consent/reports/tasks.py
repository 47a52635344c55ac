from celery import shared_task

from consent.reports.services import report_job_run


@shared_task(name="consent.tasks.report_job_run", acks_late=True, ignore_result=True)
def report_job_run_task(job_id: str) -> None:
    """Make one queued user-data report (``consent.reports``). A duplicate delivery finds the
    job claimed and does nothing; a job whose worker died is failed by the jobs' beat task, or
    at once when the subject asks again, and swept with the rest after ``REPORT_TTL``."""
    report_job_run(job_id=job_id)
