"""Swap jobs through the API, run eagerly when the request commits: the request's refusals
(each a 4xx with a code, nothing stored), a still and a clip swapped end to end into labelled,
encrypted results, the owner-only result, deletion, and the exact audit events."""

from __future__ import annotations

import dataclasses
import io
import uuid
from datetime import timedelta

import av
import cv2
import numpy as np
import pytest
import time_machine
from django.utils import timezone

from biometrics import vault
from biometrics.models import Capture
from biometrics.services import capture_store
from swap.engines.label import DIGITAL_SOURCE_TYPE, LABEL_TEXT, read_png_provenance
from swap.engines.video import iter_frames, read_mp4_provenance
from swap.models import SwapJob
from tests.erasure.kit import client_for
from tests.swap.conftest import label_is_visible
from tests.swap.jobkit import (
    CLIP_FRAMES,
    SWAPS_URL,
    label_pixels,
    make_template,
    open_result,
    request_swap,
    withdraw,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """``with run_on_commit(): ...``: what the block queues on commit runs (eagerly) at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def nothing_stored(media_root) -> bool:
    return not SwapJob.objects.exists() and not (media_root / "swap_results").exists()


def swap_events(audit_events) -> list[str]:
    return [name for name in audit_events(names_only=True) if name.startswith("SWAP_JOB")]


# --- refusals ---------------------------------------------------------------------------------


def test_a_swap_is_refused_without_face_swap_consent_and_nothing_is_stored(
    alice, enrolled, image_template, _media_root, audit_events
):
    [capture] = enrolled(alice)

    response = request_swap(client_for(alice), capture, image_template)

    assert response.status_code == 403
    assert response.json()["code"] == "consent_required"
    assert response.json()["purpose"] == "face_swap"
    assert nothing_stored(_media_root) and swap_events(audit_events) == []


def test_another_users_capture_is_not_found_and_nothing_is_stored(
    ready, bob, enrolled, image_template, _media_root, audit_events
):
    api, _capture = ready
    [bobs] = enrolled(bob)

    response = request_swap(api, bobs, image_template)

    assert response.status_code == 404
    assert response.json()["code"] == "capture_not_found"
    assert nothing_stored(_media_root) and swap_events(audit_events) == []


def test_a_capture_whose_liveness_check_failed_is_refused(
    alice, ready, capture_analysis, image_template, _media_root, audit_events
):
    api, _capture = ready
    failed = dataclasses.replace(
        capture_analysis, liveness={**capture_analysis.liveness, "passed": False}
    )
    not_live = capture_store(subject=alice, analysis=failed)
    start = len(audit_events())

    response = request_swap(api, not_live, image_template)

    assert response.status_code == 422
    assert response.json()["code"] == "capture_not_live"
    assert nothing_stored(_media_root) and audit_events()[start:] == []


@pytest.mark.parametrize("expired", ["licence", "depicted_consent"])
def test_a_template_whose_licence_or_depicted_consent_expired_is_refused(
    ready, expired, _media_root, audit_events
):
    api, capture = ready
    ends = timezone.now() + timedelta(minutes=20)  # the API token lives an hour
    template = make_template(
        licence_expires=ends if expired == "licence" else None,
        consent_expires=ends if expired == "depicted_consent" else None,
    )
    start = len(audit_events())

    with time_machine.travel(ends + timedelta(minutes=1)):
        response = request_swap(api, capture, template)

    assert response.status_code == 422
    assert response.json()["code"] == "template_unavailable"
    assert response.json()["reason"] == f"{expired}_expired"
    assert nothing_stored(_media_root) and audit_events()[start:] == []


@pytest.mark.parametrize("missing", ["licence", "depicted_consent"])
def test_a_template_without_a_licence_or_depicted_consent_on_record_is_refused(
    ready, missing, _media_root, audit_events
):
    # The services always record both; a row without one (made by hand, or half-restored from
    # a backup) must be refused like any unusable template, not crash.
    api, capture = ready
    template = make_template()
    type(template).objects.filter(pk=template.pk).update(**{missing: None})
    start = len(audit_events())

    response = request_swap(api, capture, template)

    assert response.status_code == 422
    assert response.json()["code"] == "template_unavailable"
    assert response.json()["reason"] == f"{missing}_missing"
    assert nothing_stored(_media_root) and audit_events()[start:] == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "invalid"),
        ({"capture": "x"}, 400, "invalid"),
        ({"template": "x"}, 400, "invalid"),
        ({"capture": "not-a-uuid", "template": "TEMPLATE"}, 404, "capture_not_found"),
        ({"capture": str(uuid.uuid4()), "template": "TEMPLATE"}, 404, "capture_not_found"),
        ({"capture": "CAPTURE", "template": "not-a-uuid"}, 404, "template_not_found"),
        ({"capture": "CAPTURE", "template": str(uuid.uuid4())}, 404, "template_not_found"),
        ({"capture": "CAPTURE" * 20, "template": "TEMPLATE"}, 400, "invalid"),
        ({"capture": ["CAPTURE"], "template": {"id": 1}}, 400, "invalid"),
    ],
)
def test_bad_request_bodies_are_4xx_with_a_code_and_store_nothing(
    ready, image_template, body, status, code, _media_root
):
    api, capture = ready
    values = {"CAPTURE": str(capture.pk), "TEMPLATE": str(image_template.pk)}
    body = {key: values.get(value, value) if isinstance(value, str) else value
            for key, value in body.items()}  # fmt: skip

    response = api.post(SWAPS_URL, body, format="json")

    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert nothing_stored(_media_root)


def test_a_body_that_is_not_json_is_a_400(ready):
    api, _capture = ready

    response = api.generic("POST", SWAPS_URL, b"{not json", content_type="application/json")

    assert response.status_code == 400 and response.json()["code"] == "malformed_request"


@pytest.mark.parametrize("job_id", ["not-a-uuid", str(uuid.uuid4()), "0" * 300])
@pytest.mark.parametrize("suffix", ["", "/result"])
def test_unknown_or_malformed_job_ids_are_not_found(ready, job_id, suffix):
    api, _capture = ready

    response = api.get(f"{SWAPS_URL}/{job_id}{suffix}")
    deleted = api.delete(f"{SWAPS_URL}/{job_id}")

    assert response.status_code == 404 and response.json()["code"] == "swap_not_found"
    assert deleted.status_code == 404 and deleted.json()["code"] == "swap_not_found"


def test_the_swap_api_needs_a_signed_in_user(image_template):
    from rest_framework.test import APIClient

    anonymous = APIClient()
    assert anonymous.get(SWAPS_URL).status_code == 401
    assert anonymous.post(SWAPS_URL, {}, format="json").status_code == 401
    assert anonymous.get("/api/v1/templates").status_code == 401


# --- a still, end to end ----------------------------------------------------------------------


def test_a_still_is_swapped_into_a_labelled_encrypted_result_with_its_job_id(
    alice, ready, image_template, run_on_commit, _media_root
):
    api, capture = ready

    with run_on_commit():
        response = request_swap(api, capture, image_template)

    assert response.status_code == 202
    job = SwapJob.objects.get()
    # Queued when the request committed; it ran when this block ended.
    assert response.json() == {"id": str(job.pk), "status": "pending"}
    status = api.get(f"{SWAPS_URL}/{job.pk}").json()
    assert {k: status[k] for k in ("id", "status", "progress", "error")} == {
        "id": str(job.pk),
        "status": "done",
        "progress": 100,
        "error": "",
    }
    assert status["result"] == f"{SWAPS_URL}/{job.pk}/result"
    # At rest: ciphertext, not a PNG; it opens only with Alice's key and this job's AAD.
    stored = (_media_root / job.result).read_bytes()
    assert not stored.startswith(b"\x89PNG") and b"IHDR" not in stored
    png = open_result(job, vault.subject_key(alice.pk))
    assert png.startswith(b"\x89PNG")
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert label_is_visible(image)
    assert label_pixels(image).mean() < image.mean()  # the darkened box of the mark
    provenance = read_png_provenance(png)
    assert provenance["job_id"] == str(job.pk)
    assert provenance["digital_source_type"] == DIGITAL_SOURCE_TYPE
    assert provenance["label"] == LABEL_TEXT
    # The download is the same file, decrypted, for its owner.
    download = api.get(f"{SWAPS_URL}/{job.pk}/result")
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"] == (
        f'attachment; filename="faceledger-swap-{job.pk}.png"'
    )
    assert "no-store" in download["Cache-Control"]
    assert b"".join(download.streaming_content) == png
    assert int(download["Content-Length"]) == len(png)
    inline = api.get(f"{SWAPS_URL}/{job.pk}/result?disposition=inline", HTTP_ACCEPT="image/png")
    assert inline.status_code == 200 and inline["Content-Disposition"].startswith("inline;")


def test_no_setting_removes_the_label(alice, ready, image_template, run_on_commit):
    api, capture = ready
    asks = {"label": False, "watermark": "none", "provenance": False, "ai_label": 0}

    with run_on_commit():
        response = api.post(
            SWAPS_URL,
            {"capture": str(capture.pk), "template": str(image_template.pk), **asks},
            format="json",
        )

    job = SwapJob.objects.get(pk=response.json()["id"])
    png = open_result(job, vault.subject_key(alice.pk))
    assert label_is_visible(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR))
    assert read_png_provenance(png)["digital_source_type"] == DIGITAL_SOURCE_TYPE


def test_the_swapped_face_differs_from_the_template_inside_the_face_only(
    alice, ready, image_template, run_on_commit
):
    from tests.swap.jobkit import template_png

    api, capture = ready
    with run_on_commit():
        request_swap(api, capture, image_template)
    job = SwapJob.objects.get()

    result = cv2.imdecode(
        np.frombuffer(open_result(job, vault.subject_key(alice.pk)), np.uint8), cv2.IMREAD_COLOR
    )
    template = cv2.imdecode(np.frombuffer(template_png(), np.uint8), cv2.IMREAD_COLOR)
    changed = np.abs(result.astype(int) - template.astype(int)).max(axis=2) > 12
    x0, _y0, _x1, y1 = label_pixels_box(result)
    changed[:y1, x0:] = False  # the label, top right
    ys, xs = np.nonzero(changed)
    assert changed.mean() > 0.01
    # Everything that changed is in the middle, where the face is; the corners are untouched.
    assert not changed[:40, :40].any() and not changed[-40:, :40].any()
    assert 100 < xs.mean() < 500 and 100 < ys.mean() < 500


def label_pixels_box(image):
    from swap.engines.label import label_box

    return label_box(image.shape[1], image.shape[0])


def test_using_a_capture_for_a_swap_marks_it_used(alice, ready, image_template, run_on_commit):
    api, capture = ready
    later = timezone.now() + timedelta(minutes=40)  # within the API token's hour

    with time_machine.travel(later, tick=False), run_on_commit():
        request_swap(api, capture, image_template)

    assert Capture.objects.get(pk=capture.pk).last_used_at == later


def test_a_finished_swap_writes_the_exact_audit_events(
    alice, ready, image_template, run_on_commit, audit_events
):
    api, capture = ready
    start = len(audit_events())

    with run_on_commit():
        request_swap(api, capture, image_template)
    job = SwapJob.objects.get()
    api.get(f"{SWAPS_URL}/{job.pk}/result")
    assert api.delete(f"{SWAPS_URL}/{job.pk}").status_code == 204

    events = audit_events()[start:]
    assert [name for name, _data in events] == [
        "SWAP_JOB_REQUESTED",
        "SWAP_JOB_STARTED",
        "CAPTURE_USED",
        "SWAP_JOB_DONE",
        "SWAP_RESULT_DOWNLOADED",
        "SWAP_RESULT_DELETED",
    ]
    data = dict(events)
    assert data["SWAP_JOB_REQUESTED"] == {
        "capture": str(capture.pk),
        "template": str(image_template.pk),
        "licence": image_template.licence_id,
        "depicted_consent": image_template.depicted_consent_id,
    }
    assert data["SWAP_JOB_STARTED"] == {"attempt": 1, "engine": "classic"}
    assert (
        data["SWAP_JOB_DONE"]["result"] == "image/png" and data["SWAP_JOB_DONE"]["stored"] is False
    )
    assert data["SWAP_RESULT_DOWNLOADED"] == {"consent": "granted"}
    assert data["SWAP_RESULT_DELETED"] == {"status": "done", "result": True, "consent": "granted"}


# --- a clip, end to end -----------------------------------------------------------------------


def test_a_clip_is_swapped_frame_by_frame_into_a_labelled_h264_mp4_that_keeps_its_sound(
    alice, ready, run_on_commit
):
    api, capture = ready
    template = make_template("video")

    with run_on_commit():
        request_swap(api, capture, template)

    job = SwapJob.objects.get()
    assert job.status == "done" and job.progress == 100
    mp4 = open_result(job, vault.subject_key(alice.pk))
    assert read_mp4_provenance(mp4)["job_id"] == str(job.pk)
    with av.open(io.BytesIO(mp4)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio and container.streams.audio[0].codec_context.name == "aac"
    frames = list(iter_frames(mp4))
    assert len(frames) == CLIP_FRAMES
    assert all(label_is_visible(frame) for frame in frames)
    download = api.get(f"{SWAPS_URL}/{job.pk}/result")
    assert download["Content-Type"] == "video/mp4"
    assert download["Content-Disposition"].endswith(f'filename="faceledger-swap-{job.pk}.mp4"')


# --- owners only --------------------------------------------------------------------------------


def test_another_user_gets_404_on_the_job_its_result_and_its_deletion(
    ready, bob, image_template, run_on_commit
):
    api, capture = ready
    with run_on_commit():
        request_swap(api, capture, image_template)
    job = SwapJob.objects.get()
    other = client_for(bob)

    for response in (
        other.get(f"{SWAPS_URL}/{job.pk}"),
        other.get(f"{SWAPS_URL}/{job.pk}/result"),
        other.delete(f"{SWAPS_URL}/{job.pk}"),
    ):
        assert response.status_code == 404 and response.json()["code"] == "swap_not_found"
    assert other.get(SWAPS_URL).json() == []
    assert SwapJob.objects.filter(pk=job.pk, status="done").exists()


def test_the_list_shows_only_the_callers_own_jobs_newest_first(
    ready, bob, enrolled, grant_consent, image_template, run_on_commit
):
    api, capture = ready
    [bobs] = enrolled(bob)
    grant_consent(bob, "face_swap")
    with run_on_commit():
        first = request_swap(api, capture, image_template).json()["id"]
        second = request_swap(api, capture, image_template).json()["id"]
        request_swap(client_for(bob), bobs, image_template)

    assert [job["id"] for job in api.get(SWAPS_URL).json()] == [second, first]


def test_a_result_not_made_yet_is_a_409(ready, image_template):
    api, capture = ready
    job_id = request_swap(api, capture, image_template).json()["id"]  # queued, not run

    response = api.get(f"{SWAPS_URL}/{job_id}/result")

    assert response.status_code == 409 and response.json()["code"] == "result_not_ready"
    assert response.json()["status"] == "pending"


def test_deleting_a_job_deletes_its_result_file_and_row(
    alice, ready, image_template, run_on_commit, _media_root
):
    api, capture = ready
    with run_on_commit():
        request_swap(api, capture, image_template)
    job = SwapJob.objects.get()
    assert (_media_root / job.result).exists()

    response = api.delete(f"{SWAPS_URL}/{job.pk}")

    assert response.status_code == 204
    assert not SwapJob.objects.exists() and not (_media_root / job.result).exists()
    assert api.get(f"{SWAPS_URL}/{job.pk}").status_code == 404


def test_deleting_a_queued_job_cancels_it_and_the_queued_task_then_does_nothing(
    ready, image_template, django_capture_on_commit_callbacks, audit_events, monkeypatch
):
    from tests.swap.jobkit import EngineSpy

    api, capture = ready
    spy = EngineSpy(monkeypatch)
    with django_capture_on_commit_callbacks() as queued:
        job_id = request_swap(api, capture, image_template).json()["id"]
    start = len(audit_events())

    assert api.delete(f"{SWAPS_URL}/{job_id}").status_code == 204
    for task in queued:
        task()

    assert spy.calls == 0 and not SwapJob.objects.exists()
    assert [name for name, _ in audit_events()[start:]] == [
        "SWAP_JOB_CANCELLED",
        "SWAP_RESULT_DELETED",
    ]


def test_a_result_kept_after_face_swap_is_withdrawn_still_downloads_under_output_storage(
    alice, ready, grant_consent, image_template, run_on_commit, audit_events
):
    api, capture = ready
    grant_consent(alice, "output_storage")
    with run_on_commit():
        request_swap(api, capture, image_template)
    withdraw(alice, "face_swap")

    job = SwapJob.objects.get()
    download = api.get(f"{SWAPS_URL}/{job.pk}/result")

    assert job.stored and download.status_code == 200
    assert audit_events()[-1] == ("SWAP_RESULT_DOWNLOADED", {"consent": "granted"})


def test_a_capture_is_not_used_while_its_enrolment_consent_is_outdated(
    alice, ready, image_template, staff, django_capture_on_commit_callbacks, _media_root
):
    """The capture is kept under biometric_enrolment "to use in swaps you ask for": once a new
    biometric text is published and not yet agreed to, the face template is not used, even
    with a current face_swap consent. Refused at the request (403, naming the purpose) and,
    for a job already queued, at its run (cancelled, never decrypted)."""
    from biometrics.models import Capture
    from tests.biometrics.test_capture_gate_first import publish_biometric_v2

    api, capture = ready
    with django_capture_on_commit_callbacks(execute=False) as queued:
        queued_id = request_swap(api, capture, image_template).json()["id"]
    used_before = Capture.objects.get(pk=capture.pk).last_used_at
    publish_biometric_v2(staff)

    response = request_swap(api, capture, image_template)
    for task in queued:
        task()

    assert response.status_code == 403
    assert response.json()["code"] == "consent_outdated"
    assert response.json()["purpose"] == "biometric_enrolment"
    job = SwapJob.objects.get(pk=queued_id)
    assert (job.status, job.error, job.result) == ("cancelled", "consent_outdated", "")
    assert Capture.objects.get(pk=capture.pk).last_used_at == used_before
    assert SwapJob.objects.count() == 1


def test_showing_a_result_in_the_page_is_not_a_download_and_writes_no_event(
    alice, ready, image_template, run_on_commit, audit_events
):
    """Each render of /swaps/ shows every result inline: those are views of the page, not
    downloads. Only the Download button's request is audited."""
    from django.test import Client

    api, capture = ready
    with run_on_commit():
        request_swap(api, capture, image_template)
    job = SwapJob.objects.get()
    portal = Client()
    portal.force_login(alice)
    start = len(audit_events())

    for _ in range(3):
        assert portal.get("/swaps/").status_code == 200
        shown = portal.get(f"{SWAPS_URL}/{job.pk}/result?disposition=inline")
        assert shown.status_code == 200 and shown["Content-Disposition"].startswith("inline")
    assert audit_events()[start:] == []

    downloaded = portal.get(f"{SWAPS_URL}/{job.pk}/result")

    assert downloaded["Content-Disposition"].startswith("attachment")
    assert audit_events()[start:] == [("SWAP_RESULT_DOWNLOADED", {"consent": "granted"})]
