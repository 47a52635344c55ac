"""Concurrent writers and sealers: nothing committed is lost, skipped or sealed twice."""

from __future__ import annotations

import random
import threading
import time
import uuid

import pytest
from django.db import connection, transaction

from audit.actions import AuditAction
from audit.models import AuditEvent, AuditLeaf
from audit.services import audit_record, audit_seal
from audit.verification import audit_log_verify

WRITERS, EVENTS_EACH = 4, 25


class _Rollback(Exception):
    pass


def _writer(run: str, number: int, committed: list, errors: list) -> None:
    rng = random.Random(number)
    try:
        for step in range(EVENTS_EACH):
            object_id = f"{run}-{number}-{step}"
            try:
                with transaction.atomic(durable=True):
                    audit_record(
                        actor=None,
                        subject=None,
                        action=AuditAction.LOGIN,
                        object_type="concurrency",
                        object_id=object_id,
                    )
                    time.sleep(rng.random() / 500)  # commit late, out of id order
                    if step % 5 == 4:
                        raise _Rollback
                committed.append(object_id)
            except _Rollback:
                pass
    except Exception as exc:  # noqa: BLE001 - surfaced by the test
        errors.append(exc)
    finally:
        connection.close()


def _sealer(stop: threading.Event, errors: list) -> None:
    try:
        while not stop.is_set():
            audit_seal()
            time.sleep(0.003)
    except Exception as exc:  # noqa: BLE001
        errors.append(exc)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_sealers_end_with_a_gap_free_tree_holding_every_commit():
    run, committed, errors, stop = uuid.uuid4().hex[:8], [], [], threading.Event()
    sealers = [threading.Thread(target=_sealer, args=(stop, errors)) for _ in range(2)]
    writers = [
        threading.Thread(target=_writer, args=(run, n, committed, errors)) for n in range(WRITERS)
    ]
    for thread in sealers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in sealers:
        thread.join()
    assert not errors
    audit_seal()

    ours = AuditEvent.objects.filter(object_type="concurrency", object_id__startswith=run)
    assert sorted(ours.values_list("object_id", flat=True)) == sorted(committed)
    assert len(committed) == WRITERS * EVENTS_EACH * 4 // 5
    sealed = AuditLeaf.objects.filter(event__in=ours)
    assert sealed.count() == len(committed)
    indexes = list(AuditLeaf.objects.order_by("index").values_list("index", flat=True))
    assert indexes == list(range(len(indexes)))
    result = audit_log_verify()
    assert result.ok, result.problems
    assert result.pending == 0
    assert result.checkpoints >= 2


@pytest.mark.django_db(transaction=True)
def test_an_event_that_commits_after_a_seal_is_sealed_by_the_next_one(on_postgresql):
    inserted, release, errors = threading.Event(), threading.Event(), []

    def slow_writer():
        try:
            with transaction.atomic(durable=True):
                audit_record(
                    actor=None,
                    subject=None,
                    action=AuditAction.LOGIN,
                    object_type="late",
                    object_id="slow",
                )
                inserted.set()
                release.wait(10)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert inserted.wait(10)
    with transaction.atomic(durable=True):
        fast = audit_record(
            actor=None, subject=None, action=AuditAction.LOGIN, object_type="late", object_id="fast"
        )
    audit_seal()
    slow = AuditEvent.objects.filter(object_type="late", object_id="slow")
    assert not slow.exists()  # not committed yet, so invisible to the sealer
    release.set()
    thread.join()
    assert not errors
    slow_event = slow.get()
    assert slow_event.pk < fast.pk  # the smaller id committed later...
    audit_seal()
    # ...and is sealed after it, not skipped.
    assert slow_event.leaf.index == AuditLeaf.objects.get(event=fast).index + 1
    assert audit_log_verify().ok
