from celery import shared_task

from biometrics.services import master_key_schedule


@shared_task(name="biometrics.tasks.master_key_schedule", acks_late=True, ignore_result=True)
def master_key_schedule_task() -> dict[str, int]:
    """Scheduled by ``CELERY_BEAT_SCHEDULE['master-key-schedule']``: rotate, re-wrap, retire and
    destroy master keys when due. Safe at any time (one run per key store at once)."""
    return master_key_schedule()
