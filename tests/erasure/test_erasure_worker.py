"""One erasure run by a real Celery worker process, queued when the request commits."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from biometrics.models import Capture
from compliance_site import inventory
from consent.erasure.models import ErasureRequest
from consent.identity.models import User
from tests.celery_worker import log_after_success, running_worker, wait_until
from tests.erasure.kit import ERASURE_URL, client_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_worker_process_erases_an_account_and_issues_the_certificate(
    alice, enrolled, settings, monkeypatch, tmp_path, _media_root
):
    [capture] = enrolled(alice)
    photo = _media_root / capture.photo
    # The worker reads its settings from the environment: point it at this test's folders.
    monkeypatch.setenv("DJANGO_MEDIA_ROOT", str(settings.MEDIA_ROOT))
    monkeypatch.setenv("FILE_UPLOAD_TEMP_DIR", settings.FILE_UPLOAD_TEMP_DIR)
    api = client_for(alice)

    with running_worker(tmp_path) as worker:
        response = api.post(ERASURE_URL)
        token = response.json()["id"]
        done = wait_until(lambda: ErasureRequest.objects.filter(status="done").exists(), timeout=90)
        log = log_after_success(worker, "consent.tasks.erasure_run")

    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert done, log
    assert "consent.tasks.erasure_run" in log and "succeeded" in log
    assert not User.objects.filter(pk=alice.pk).exists()
    assert not Capture.objects.exists() and not photo.exists()
    assert all(refs == [] for refs in inventory.locate_all(alice.pk).values())
    status = APIClient().get(f"{ERASURE_URL}/{token}").json()
    assert status["status"] == "done" and status["certificate"]["verified_empty"] is True
