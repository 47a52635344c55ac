"""Background jobs: one way to queue, claim, report on, finish and recover them.

A job is a row (a swap, an account erasure, a user-data report...) that goes pending →
running → an end status, worked on by a Celery task that takes the row's primary key. Each
app declares its kind once (``JobKind``: the model, the task's name, its field names, how
long a silent job may stay and what recovery does) and ``register``s it; this module imports
no app and does the rest the same way for every kind:

- ``enqueue_on_commit(kind, pk)`` sends the kind's task once the caller's transaction
  commits. Robust: a broker hiccup must not undo a committed request (recovery sends again a
  pending job whose message went missing).
- ``claim(kind, pk)`` takes a pending row by a conditional UPDATE (0 rows: someone else has
  it, or it ended or was deleted), with a fresh claim token where the model has that field,
  and counts the attempt. It answers a ``Claim`` with the row as claimed.
- ``mine(claim)`` (the rows still held by this claim), ``heartbeat(claim, **fields)`` and
  ``Progress`` write progress and the heartbeat conditional on the claim: a row deleted
  meanwhile (withdrawal, erasure) or whose claim was taken over answers False, not an error,
  and a worker whose claim was taken over never writes over the new one's row.
- ``finish(claim, status, **fields)`` ends the job, conditional on the claim.
- ``recover(kind)``, for every kind from one beat task (``compliance_site.tasks.jobs_recover``),
  looks for jobs silent for longer than ``stale_after``: their worker died, or their message
  was lost. Each is locked and checked again in its own transaction (safe to run twice at
  once): a kind that retries sends a pending job again and puts a running one back to pending
  (``on_requeued``), until ``max_attempts`` claims are used; a kind that does not (or is out
  of attempts) is failed with ``worker_lost`` (``on_failed``). The hooks write the kind's
  audit event in the same transaction.

The kind's business rules (consent checked at the claim, resumable steps, expiry) stay in its
app's services, around these calls.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

PENDING, RUNNING, FAILED = "pending", "running", "failed"
WORKER_LOST = "worker_lost"
RECOVER_BATCH = 100


@dataclass(frozen=True)
class JobKind:
    """One kind of background job. Field names are the model's; None: it has no such field."""

    name: str  # e.g. "swap.jobs": the key of ``recover_all``'s answer
    model: type[models.Model]  # its rows are read through ``_default_manager`` (its ``objects``)
    task: str  # the Celery task's registered name; it takes the row's pk as a string
    stale_after: Callable[[], timedelta]  # read at each use (settings may change)
    retry: bool = True  # False: a stale job is failed, never sent again
    max_attempts: Callable[[], int] | None = None  # claims before a stale job is failed
    queued_at: str = "created_at"
    claimed_at: str | None = "claimed_at"
    heartbeat_at: str | None = "heartbeat_at"
    claim_field: str | None = None  # a UUID field: the claim token
    attempts: str | None = None
    progress: str | None = "progress"  # a percentage, 0 at the claim
    finished_at: str = "finished_at"
    error: str | None = "error"
    select_related: tuple[str, ...] = ()  # for the row a claim answers
    # Called with the locked row in recovery's transaction (to audit what it did).
    on_requeued: Callable[[Any], None] | None = None
    on_failed: Callable[[Any, str], None] | None = None


_kinds: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    """Declare a kind (at import of the app's services); registering it again replaces it."""
    _kinds[kind.name] = kind
    return kind


def kinds() -> list[JobKind]:
    return list(_kinds.values())


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one job: its token (None for a kind without one) and the row."""

    kind: JobKind
    pk: Any
    token: uuid.UUID | None
    row: Any

    @classmethod
    def of(cls, kind: JobKind, row: models.Model) -> Claim:
        """The claim a row read back holds (a worker passing its job around)."""
        token = getattr(row, kind.claim_field) if kind.claim_field else None
        return cls(kind, row.pk, token, row)


# --- queueing -----------------------------------------------------------------------------------


def enqueue_on_commit(kind: JobKind, pk: Any) -> None:
    """Send the kind's task for ``pk`` once the caller's transaction commits."""

    def send() -> None:
        _send(kind, pk)

    # Django names a failed robust hook by its __qualname__: name the task.
    send.__qualname__ = f"enqueue {kind.task}"
    transaction.on_commit(send, robust=True)


def _send(kind: JobKind, pk: Any) -> None:
    from compliance_site.celery import app

    task = app.tasks.get(kind.task)
    if task is None:  # its app's tasks module is not imported yet in this process
        _load_tasks()
        task = app.tasks[kind.task]
    task.delay(str(pk))


def _load_tasks() -> None:
    """Import every installed app's ``tasks`` module, as a worker does when it starts. A
    kind's task runs its services, which declare the kind: so every kind is registered."""
    from compliance_site.celery import app

    app.autodiscover_tasks(force=True)


# --- the worker's side --------------------------------------------------------------------------


def claim(kind: JobKind, pk: Any) -> Claim | None:
    """Take a pending job for this worker; None when there is nothing to take: an unknown or
    malformed id, or a job claimed, ended or deleted meanwhile."""
    try:
        key = kind.model._meta.pk.to_python(pk)
    except ValidationError:
        return None
    now, token = timezone.now(), uuid.uuid4() if kind.claim_field else None
    stamps = {
        kind.claim_field: token,
        kind.claimed_at: now,
        kind.heartbeat_at: now,
        kind.progress: 0,
    }
    values: dict[str, Any] = {"status": RUNNING}
    values.update({name: value for name, value in stamps.items() if name})
    if kind.attempts:
        values[kind.attempts] = F(kind.attempts) + 1
    with transaction.atomic():
        if not kind.model._default_manager.filter(pk=key, status=PENDING).update(**values):
            return None
        row = kind.model._default_manager.select_related(*kind.select_related).get(pk=key)
    return Claim(kind, key, token, row)


def mine(claim: Claim) -> QuerySet:
    """The job, if it is still running under this claim (else no row)."""
    held = claim.kind.model._default_manager.filter(pk=claim.pk, status=RUNNING)
    return held.filter(**{claim.kind.claim_field: claim.token}) if claim.kind.claim_field else held


def heartbeat(claim: Claim, **fields: Any) -> bool:
    """Write ``fields`` and the heartbeat if the job is still this claim's; False if not."""
    if claim.kind.heartbeat_at:
        fields[claim.kind.heartbeat_at] = timezone.now()
    return bool(mine(claim).update(**fields))


class Progress:
    """An ``on_progress(percent)`` for a job: rising percentages (at most 99: 100 is the
    end's) written with the heartbeat at most every ``every`` seconds."""

    def __init__(self, claim: Claim, *, every: float):
        if claim.kind.progress is None:
            raise ValueError(f"job kind {claim.kind.name!r} declares no progress field")
        self.claim, self.every, self.field = claim, every, claim.kind.progress
        self.last, self.written = 0.0, 0

    def __call__(self, percent: float) -> None:
        percent = max(0, min(99, int(percent)))
        now = time.monotonic()
        if percent <= self.written or now - self.last < self.every:
            return
        self.last, self.written = now, percent
        heartbeat(self.claim, **{self.field: percent})


def finish(claim: Claim, status: str, *, now: datetime | None = None, **fields: Any) -> bool:
    """End the job as ``status`` (with ``fields``) if it is still this claim's; False if it
    was cancelled, deleted or taken over meanwhile (its end is recorded already)."""
    return bool(mine(claim).update(status=status, **_end_fields(claim.kind, now), **fields))


def _end_fields(kind: JobKind, now: datetime | None) -> dict[str, datetime]:
    now = now or timezone.now()
    ended = {kind.finished_at: now}
    if kind.heartbeat_at:
        ended[kind.heartbeat_at] = now
    return ended


# --- recovery -----------------------------------------------------------------------------------


def recover_all(*, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """The beat task: every kind, each with the counts of ``recover``."""
    _load_tasks()
    return {kind.name: recover(kind, now=now) for kind in kinds()}


def recover(kind: JobKind, *, now: datetime | None = None, scope: Q | None = None) -> dict:
    """Requeue, send again or fail the kind's stale jobs (only those in ``scope``, if given);
    counts of each. No job stays "running" after its worker died."""
    now = now or timezone.now()
    cutoff = now - kind.stale_after()
    counts = {"requeued": 0, "failed": 0, "resent": 0}
    for pk in _stale(kind, cutoff, scope):
        outcome = _recover_one(kind, pk, cutoff=cutoff, now=now)
        if outcome:
            counts[outcome] += 1
    return counts


def _alive_at(kind: JobKind, status: str) -> list[str]:
    """The fields that tell when a job in ``status`` last showed life, the first set wins."""
    since = kind.claimed_at if status == RUNNING else kind.queued_at
    return [name for name in (kind.heartbeat_at, since) if name]


def _stale(kind: JobKind, cutoff: datetime, scope: Q | None) -> list[Any]:
    def last_sign(status: str) -> Any:
        names = _alive_at(kind, status)
        return Coalesce(*names) if len(names) > 1 else F(names[0])

    rows = kind.model._default_manager.filter(scope or Q()).annotate(
        _pending_seen=last_sign(PENDING), _running_seen=last_sign(RUNNING)
    )
    stale = rows.filter(
        Q(status=PENDING, _pending_seen__lt=cutoff) | Q(status=RUNNING, _running_seen__lt=cutoff)
    )
    return list(stale.values_list("pk", flat=True)[:RECOVER_BATCH])


def _recover_one(kind: JobKind, pk: Any, *, cutoff: datetime, now: datetime) -> str | None:
    with transaction.atomic():
        row: Any = kind.model._default_manager.select_for_update().filter(pk=pk).first()
        if row is None or row.status not in (PENDING, RUNNING) or not _silent(kind, row, cutoff):
            return None  # gone, ended, or it showed life since it was listed
        if not kind.retry or (row.status == RUNNING and _out_of_attempts(kind, row)):
            _fail(kind, row, now)
            return "failed"
        outcome = "resent" if row.status == PENDING else "requeued"
        _requeue(kind, row, now)
        enqueue_on_commit(kind, row.pk)
    return outcome


def _silent(kind: JobKind, row: Any, cutoff: datetime) -> bool:
    seen = next(
        (getattr(row, name) for name in _alive_at(kind, row.status) if getattr(row, name)), None
    )
    return seen is not None and seen < cutoff


def _out_of_attempts(kind: JobKind, row: Any) -> bool:
    if kind.attempts is None or kind.max_attempts is None:
        return False
    return getattr(row, kind.attempts) >= kind.max_attempts()


def _requeue(kind: JobKind, row: Any, now: datetime) -> None:
    """A pending job is touched (so that it is sent once per ``stale_after``); a running one
    goes back to pending, its claim dropped."""
    changed: dict[str, Any] = {kind.heartbeat_at: now} if kind.heartbeat_at else {}
    if row.status == RUNNING:
        changed["status"] = PENDING
        if kind.claim_field:
            changed[kind.claim_field] = None
        if kind.progress:
            changed[kind.progress] = 0
    for name, value in changed.items():
        setattr(row, name, value)
    row.save(update_fields=list(changed))
    if "status" in changed and kind.on_requeued is not None:
        kind.on_requeued(row)


def _fail(kind: JobKind, row: Any, now: datetime) -> None:
    changed: dict[str, Any] = {"status": FAILED, **_end_fields(kind, now)}
    if kind.error:
        changed[kind.error] = WORKER_LOST
    kind.model._default_manager.filter(pk=row.pk).update(**changed)
    for name, value in changed.items():
        setattr(row, name, value)
    if kind.on_failed is not None:
        kind.on_failed(row, WORKER_LOST)
