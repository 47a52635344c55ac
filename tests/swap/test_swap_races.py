"""Races between a worker storing a result and a depicted person's withdrawal, on real
connections: whichever takes its lock first, no result made with the withdrawn face stays, and
neither side waits for the other for ever (the lock order: subject, template, job)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from swap.models import SwapJob, SwapNotice
from swap.services import swap_job_run, swap_template_withdraw_by_secret
from tests.swap.jobkit import make_template, request_swap

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("policies")]


def _threads(*calls) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(call):
        try:
            call()
        except BaseException as exc:  # surfaced by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
        assert not thread.is_alive(), "a side waited for ever"
    return errors


def test_a_withdrawal_while_the_worker_holds_the_subjects_lock_to_store_keeps_no_result(
    ready, monkeypatch, _media_root
):
    import swap.services as services

    template = make_template("image")
    secret = template.depicted_consent.withdrawal_secret
    api, capture = ready
    # Queued but not delivered (on a real connection, on_commit runs at once): the worker
    # thread below is its delivery.
    monkeypatch.setattr(services.jobs, "enqueue_on_commit", lambda *args, **kwargs: None)
    job_id = request_swap(api, capture, template).json()["id"]
    storing, withdrawn = threading.Event(), threading.Event()
    original = services._template_refusal_locked

    def paused(template_id):
        storing.set()  # the worker holds the subject's row now
        withdrawn.wait(timeout=5)  # the withdrawal commits meanwhile, or waits on us
        return original(template_id)

    monkeypatch.setattr(services, "_template_refusal_locked", paused)

    def withdraw():
        assert storing.wait(timeout=120)
        try:
            swap_template_withdraw_by_secret(secret=secret)
        finally:
            withdrawn.set()

    errors = _threads(lambda: swap_job_run(job_id=job_id), withdraw)

    assert not errors, errors
    # Either the withdrawal committed first (the worker drops its output, the job is cancelled)
    # or it waited for the worker's commit and then erased the result, leaving a notice.
    job = SwapJob.objects.filter(pk=job_id).first()
    if job is not None:
        assert (job.status, job.result) == ("cancelled", "")
    else:
        assert SwapNotice.objects.filter(reason="depicted_consent_withdrawn").count() == 1
    folder = _media_root / "swap_results"
    assert not folder.exists() or list(folder.iterdir()) == []
