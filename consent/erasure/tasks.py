from celery import shared_task

from consent.erasure.services import erasure_run


@shared_task(name="consent.tasks.erasure_run", acks_late=True, ignore_result=True)
def erasure_run_task(request_id: str) -> None:
    """Run or resume one account erasure (``consent.erasure``). Idempotent: a duplicate or
    late delivery finds the request done or held by a live run, and does nothing. A failure
    leaves the request running; the jobs' beat task (``compliance_site.tasks.jobs_recover``)
    queues it again once its heartbeat is stale."""
    erasure_run(request_id=request_id)
