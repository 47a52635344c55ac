from celery import shared_task

from consent.identity.services import identity_prune
from consent.identity.session_numbers import session_numbers_prune


@shared_task(name="consent.tasks.identity_prune", acks_late=True)
def identity_prune_task() -> dict[str, int]:
    """Scheduled by ``CELERY_BEAT_SCHEDULE['identity-prune']``; safe to run at any time."""
    return identity_prune()


@shared_task(name="consent.tasks.session_numbers_prune", acks_late=True)
def session_numbers_prune_task() -> dict[str, int]:
    """Scheduled by ``CELERY_BEAT_SCHEDULE['session-numbers-prune']``: numbers held for codes
    that expired, and expired sessions. Safe to run at any time."""
    return session_numbers_prune()
