"""A swap job run by a real Celery worker process, queued when the request commits: the
result at rest is ciphertext; decrypted with the subject's key it is a labelled PNG whose
provenance names the job."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from biometrics import vault
from swap.engines.label import DIGITAL_SOURCE_TYPE, read_png_provenance
from swap.models import SwapJob
from tests.celery_worker import log_after_success, running_worker, wait_until
from tests.erasure.kit import client_for
from tests.swap.conftest import label_is_visible
from tests.swap.jobkit import label_pixels, make_template, open_result, request_swap

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_worker_process_swaps_a_still_into_a_labelled_encrypted_result(
    alice, enrolled, grant_consent, settings, monkeypatch, tmp_path, audit_events, _media_root
):
    [capture] = enrolled(alice)
    grant_consent(alice, "face_swap")
    template = make_template("image")
    # The worker reads its settings from the environment: point it at this test's folders.
    monkeypatch.setenv("DJANGO_MEDIA_ROOT", str(settings.MEDIA_ROOT))
    monkeypatch.setenv("FILE_UPLOAD_TEMP_DIR", settings.FILE_UPLOAD_TEMP_DIR)
    api = client_for(alice)

    with running_worker(tmp_path) as worker:
        response = request_swap(api, capture, template)
        job_id = response.json()["id"]
        finished = wait_until(
            lambda: SwapJob.objects.filter(pk=job_id).exclude(status__in=SwapJob.ACTIVE).first(),
            timeout=120,
        )
        log = log_after_success(worker, "swap.tasks.swap_job_run")

    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert finished.status == "done", (finished.error, log)
    assert "swap.tasks.swap_job_run" in log and "succeeded" in log
    ciphertext = (_media_root / finished.result).read_bytes()
    assert not ciphertext.startswith(b"\x89PNG") and b"IDAT" not in ciphertext
    png = open_result(finished, vault.subject_key(alice.pk))
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert label_is_visible(image) and label_pixels(image).mean() < image.mean()
    provenance = read_png_provenance(png)
    assert provenance["job_id"] == job_id
    assert provenance["digital_source_type"] == DIGITAL_SOURCE_TYPE
    assert [name for name in audit_events(names_only=True) if "SWAP_JOB" in name] == [
        "SWAP_JOB_REQUESTED",
        "SWAP_JOB_STARTED",
        "SWAP_JOB_DONE",
    ]
    assert api.get(f"/api/v1/swaps/{job_id}").json()["progress"] == 100
