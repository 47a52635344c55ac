"""Queues by weight: swaps go to the ``swap`` queue (the machines that make them), every other
task to ``default`` — as Celery's own router decides from the settings."""

import pytest

from compliance_site.celery import app as celery_app

LIGHT = [
    "audit.tasks.audit_seal",
    "audit.tasks.retention_sweep",
    "biometrics.tasks.master_key_schedule",
    "compliance_site.tasks.jobs_recover",
    "consent.tasks.erasure_run",
    "consent.tasks.identity_prune",
    "consent.tasks.report_job_run",
    "consent.tasks.session_numbers_prune",
]


@pytest.fixture(autouse=True)
def _tasks_found():
    celery_app.loader.import_default_modules()  # what a worker does at start: autodiscovery


def queue_of(task: str) -> str:
    return celery_app.amqp.router.route({}, task)["queue"].name


def test_swap_jobs_go_to_the_swap_queue():
    assert queue_of("swap.tasks.swap_job_run") == "swap"


@pytest.mark.parametrize("task", LIGHT)
def test_every_other_task_goes_to_the_default_queue(task):
    assert task in celery_app.tasks
    assert queue_of(task) == "default"


def test_every_task_is_routed_to_one_of_the_two_queues():
    ours = [name for name in celery_app.tasks if not name.startswith("celery.")]
    assert sorted(ours) == sorted([*LIGHT, "swap.tasks.swap_job_run"])
