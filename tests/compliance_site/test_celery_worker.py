"""A real Celery worker process: Redis in CI (CELERY_BROKER_URL), else the embedded broker."""

import pytest
from django.db import transaction

from audit.actions import AuditAction
from audit.models import AuditCheckpoint, AuditLeaf
from audit.services import audit_record
from audit.tasks import audit_seal
from compliance_site.celery import app as celery_app
from tests.celery_worker import log_after_success, running_worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_celery_app_accepts_json_only_and_acknowledges_late():
    conf = celery_app.conf
    assert conf.accept_content == ["json"]
    assert conf.task_serializer == "json"
    assert conf.task_acks_late is True
    assert conf.task_time_limit > conf.task_soft_time_limit > 0


def test_a_worker_process_runs_a_task_queued_after_commit(tmp_path):
    with transaction.atomic():
        events = [
            audit_record(actor=None, subject=None, action=AuditAction.AUDIT_VERIFIED)
            for _ in range(3)
        ]
    before = AuditCheckpoint.objects.count()
    with running_worker(tmp_path) as worker:
        with transaction.atomic():
            transaction.on_commit(audit_seal.delay)
        sealed = wait_until(
            lambda: AuditLeaf.objects.filter(event_id__in=[e.pk for e in events]).count() == 3,
            timeout=60,
        )
        log = log_after_success(worker, "audit.tasks.audit_seal")
    assert sealed, log
    assert AuditCheckpoint.objects.count() == before + 1
    assert "audit.tasks.audit_seal" in log and "succeeded" in log
