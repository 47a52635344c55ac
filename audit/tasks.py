from __future__ import annotations

from celery import shared_task

from audit.services import audit_seal as _audit_seal
from audit.services import retention_sweep


@shared_task(name="audit.tasks.audit_seal", acks_late=True, ignore_result=True)
def audit_seal() -> int | None:
    """Seal pending events and sign a checkpoint (beat, every AUDIT_SEAL_INTERVAL seconds).

    Idempotent: with nothing new it does nothing; run twice at once, the sealer lock makes
    the second wait and then find nothing (or only what arrived since).
    """
    checkpoint = _audit_seal()
    return checkpoint.tree_size if checkpoint else None


@shared_task(name="audit.tasks.retention_sweep", acks_late=True, ignore_result=True)
def retention_sweep_task() -> dict[str, int]:
    """Scheduled by ``CELERY_BEAT_SCHEDULE['retention-sweep']``: erase what expired. Safe to
    run at any time, twice at once included (rows are locked while they are erased)."""
    return retention_sweep()
