from celery import shared_task

from consent.services import identity_prune


@shared_task(name="consent.tasks.identity_prune", acks_late=True)
def identity_prune_task() -> dict[str, int]:
    """Scheduled by ``CELERY_BEAT_SCHEDULE['identity-prune']``; safe to run at any time."""
    return identity_prune()
