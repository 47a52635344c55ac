from celery import shared_task

from biometrics.services import retention_sweep


@shared_task(name="biometrics.tasks.retention_sweep", acks_late=True, ignore_result=True)
def retention_sweep_task() -> dict[str, int]:
    """Scheduled by ``CELERY_BEAT_SCHEDULE['retention-sweep']``: erase what expired. Safe to
    run at any time, twice at once included (rows are locked while they are erased)."""
    return retention_sweep()
