"""Swaps without enrolment (``ephemeral_swap``) through the API: the photo and the video are
checked in memory, the swap is made in the request, and only the labelled result is kept.
After it, a raw scan of every table, file, the cache and the broker's folder finds nothing of
the photo, the video, the landmarks or the embedding."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.actions import AuditAction
from audit.models import AuditEvent
from biometrics import vault
from biometrics.models import Capture, LivenessChallenge
from biometrics.services import capture_analyse
from compliance_site import inventory
from swap.engines.label import DIGITAL_SOURCE_TYPE, LABEL_TEXT, read_png_provenance
from swap.models import ShareLink, SwapJob
from tests.erasure.kit import LazyBody, client_for, distinctive_runs, folder_hits, raw_scan
from tests.swap.conftest import label_is_visible
from tests.swap.jobkit import expire_depicted_consent, open_result, request_swap, withdraw

pytestmark = pytest.mark.django_db

URL = "/api/v1/ephemeral-swaps"
CHALLENGE_URL = "/api/v1/ephemeral-swaps/challenge"


@pytest.fixture
def api(alice, grant_consent):
    grant_consent(alice, "ephemeral_swap")
    return client_for(alice)


def _challenge(api) -> dict:
    response = api.get(CHALLENGE_URL)
    assert response.status_code == 200, response.content
    return response.json()


def _swap(api, media, template, *, video: bytes | None = None, challenge: dict | None = None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    challenge = challenge or _challenge(api)
    body = {
        "challenge": challenge["id"],
        "template": str(template.pk),
        "photo": SimpleUploadedFile("photo.jpg", media.photo),
        "video": SimpleUploadedFile(
            "video.mp4", video if video is not None else media.video(challenge["steps"])
        ),
    }
    return api.post(URL, body, format="multipart")


def broker_messages() -> list[bytes]:
    """Every message waiting in the broker, raw and with its body decoded: the filesystem
    broker's files, or every list in Redis (kombu's queues)."""
    if settings.CELERY_BROKER_URL.startswith("redis://"):
        import redis

        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        keys = [k for k in client.scan_iter() if client.type(k) == b"list"]
        raw = [item for key in keys for item in client.lrange(key, 0, -1)]
    else:
        folder = Path(settings.CELERY_BROKER_DIR)
        raw = [p.read_bytes() for p in folder.rglob("*") if p.is_file()]
    return [message + _decoded_body(message) for message in raw]


def _decoded_body(message: bytes) -> bytes:
    try:
        envelope = json.loads(message)
        return base64.b64decode(envelope["body"])
    except (ValueError, KeyError, TypeError):
        return b""


def test_an_ephemeral_swap_checks_in_memory_and_answers_with_the_labelled_result(
    api, alice, capture_media, image_template
):
    response = _swap(api, capture_media, image_template)

    assert response.status_code == 201, response.content
    body = response.json()
    job = SwapJob.objects.get()
    assert body["id"] == str(job.pk) and body["status"] == "done" and body["ephemeral"] is True
    assert body["capture"] is None and job.capture_id is None
    assert not Capture.objects.exists()
    png = open_result(job, vault.subject_key(alice.pk))
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert label_is_visible(image)
    provenance = read_png_provenance(png)
    assert provenance["job_id"] == str(job.pk)
    assert provenance["digital_source_type"] == DIGITAL_SOURCE_TYPE
    assert provenance["label"] == LABEL_TEXT
    download = api.get(body["result"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == png


def test_an_ephemeral_swap_failing_liveness_is_refused_and_keeps_nothing(
    api, capture_media, image_template, audit_events
):
    response = _swap(api, capture_media, image_template, video=capture_media.replay())

    assert response.status_code == 422
    assert not SwapJob.objects.exists() and not Capture.objects.exists()
    assert not LivenessChallenge.objects.exists()  # spent
    [refused] = [data for name, data in audit_events() if name == "SWAP_EPHEMERAL_REFUSED"]
    assert refused["code"] == response.json()["code"]
    assert refused["destroyed"] == ["photo", "video", "landmarks", "embedding"]


def test_an_ephemeral_swap_is_refused_on_a_template_without_depicted_consent(
    api, capture_media, image_template
):
    challenge = _challenge(api)
    expire_depicted_consent(image_template)

    response = _swap(api, capture_media, image_template, challenge=challenge)

    assert response.status_code == 422
    assert response.json()["reason"] == "depicted_consent_expired"
    assert not SwapJob.objects.exists()
    # Refused before the challenge was spent: the person can pick another template.
    assert LivenessChallenge.objects.filter(pk=challenge["id"]).exists()


def test_an_ephemeral_swap_into_a_clip_is_refused_before_the_challenge_is_spent(
    api, capture_media, clip_template
):
    challenge = _challenge(api)

    response = _swap(api, capture_media, clip_template, challenge=challenge)

    assert response.status_code == 422 and response.json()["code"] == "template_is_a_clip"
    assert LivenessChallenge.objects.filter(pk=challenge["id"]).exists()


def test_an_ephemeral_swap_is_refused_without_its_consent_before_the_challenge_is_spent(
    alice, grant_consent, capture_media, image_template
):
    from swap.services import swap_ephemeral_make

    grant_consent(alice, "ephemeral_swap")
    api = client_for(alice)
    challenge = _challenge(api)
    withdraw(alice, "ephemeral_swap")
    # Straight to the service (the API's own gate refuses earlier still).
    from consent.ledger.gate import ConsentRequired

    with pytest.raises(ConsentRequired):
        swap_ephemeral_make(
            subject=alice,
            challenge_id=challenge["id"],
            template_id=image_template.pk,
            photo=capture_media.photo,
            video=capture_media.video(challenge["steps"]),
        )
    assert LivenessChallenge.objects.filter(pk=challenge["id"]).exists()
    assert not SwapJob.objects.exists()


def test_enrolment_consent_alone_does_not_allow_an_ephemeral_swap(alice, grant_consent):
    grant_consent(alice, "biometric_enrolment", "face_swap")
    api = client_for(alice)

    assert api.get(CHALLENGE_URL).status_code == 403
    assert api.get(CHALLENGE_URL).json()["purpose"] == "ephemeral_swap"


def test_an_ephemeral_swap_without_consent_is_refused_before_a_byte_is_read(alice, policies):
    from tests.erasure.kit import multipart_part

    api = client_for(alice)
    body = LazyBody(multipart_part("photo", "photo.jpg"), 5 * 1024 * 1024)
    response = api.generic(
        "POST",
        URL,
        body,
        content_type="multipart/form-data; boundary=FaceledgerTestBoundary",
        CONTENT_LENGTH=str(body.total),
        **{"wsgi.input": body},
    )

    assert response.status_code == 403
    assert response.json()["code"] == "consent_required"
    assert body.position == 0


def test_after_an_ephemeral_swap_no_row_file_cache_or_message_holds_the_face(
    api, alice, capture_media, image_template, _media_root
):
    challenge = _challenge(api)
    video = capture_media.video(challenge["steps"])
    # What the service computes in memory, computed again here to know what to look for.
    analysis = capture_analyse(photo=capture_media.photo, video=video, steps=challenge["steps"])

    response = _swap(api, capture_media, image_template, video=video, challenge=challenge)

    assert response.status_code == 201, response.content
    needles = (
        distinctive_runs(capture_media.photo)
        + distinctive_runs(video)
        + distinctive_runs(analysis.photo_jpeg)
        + distinctive_runs(analysis.embedding.tobytes(), length=32)
        + distinctive_runs(analysis.landmarks.tobytes(), length=32)
    )
    assert raw_scan(needles) == []
    # Nothing queued holds it (messages decoded: a broker keeps bodies in base64), nor the
    # broker's files; nothing of this swap was queued at all: it ran in the request.
    queued = broker_messages()
    assert [m for m in queued if any(needle in m for needle in needles)] == []
    assert [m for m in queued if str(SwapJob.objects.get().pk).encode() in m] == []
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        assert folder_hits(Path(settings.CELERY_BROKER_DIR), needles) == []
    # The one thing kept is the result, encrypted.
    files = [p for p in _media_root.rglob("*") if p.is_file()]
    assert [p.name for p in files if not p.name.startswith(str(image_template.pk))] == [
        f"{SwapJob.objects.get().pk}.result"
    ]


def test_each_ephemeral_swap_is_audited_with_what_was_destroyed_and_when(
    api, alice, capture_media, image_template
):
    before = timezone.now()
    response = _swap(api, capture_media, image_template)

    assert response.status_code == 201
    event = AuditEvent.objects.get(action=AuditAction.SWAP_EPHEMERAL_DONE)
    job = SwapJob.objects.get()
    assert event.object_id == str(job.pk) and event.purpose == "ephemeral_swap"
    assert event.data["destroyed"] == ["photo", "video", "landmarks", "embedding"]
    destroyed_at = parse_datetime(event.data["destroyed_at"])
    assert before <= destroyed_at <= job.finished_at
    assert event.data["template"] == str(image_template.pk)
    assert event.data["depicted_consent"] == image_template.depicted_consent_id


def test_an_ephemeral_result_is_kept_24_hours_or_30_days_under_output_storage(
    api, alice, grant_consent, capture_media, image_template
):
    assert _swap(api, capture_media, image_template).status_code == 201
    grant_consent(alice, "output_storage")
    assert _swap(api, capture_media, image_template).status_code == 201

    short, kept = SwapJob.objects.order_by("created_at")
    assert not short.stored and kept.stored
    assert short.expires_at - short.finished_at == timedelta(days=1)
    assert kept.expires_at - kept.finished_at == timedelta(days=30)
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        inventory.retention_sweep(timezone.now())
    assert list(SwapJob.objects.values_list("pk", flat=True)) == [kept.pk]


def test_withdrawing_ephemeral_swap_erases_its_results_and_their_share_links(
    api, alice, grant_consent, enrolled, capture_media, image_template, audit_events
):
    from swap.services import share_link_create

    assert _swap(api, capture_media, image_template).status_code == 201
    ephemeral = SwapJob.objects.get()
    share_link_create(subject=alice, job_id=ephemeral.pk)
    # A result made from an enrolled face is another purpose's: it stays.
    [capture] = enrolled(alice)
    grant_consent(alice, "face_swap")
    assert request_swap(client_for(alice), capture, image_template).status_code == 202

    preview = dict(
        (store.name, count)
        for store, count in inventory.withdrawal_preview("ephemeral_swap", alice.pk).erased
    )
    withdraw(alice, "ephemeral_swap")

    assert list(SwapJob.objects.values_list("ephemeral", flat=True)) == [False]
    assert not ShareLink.objects.exists()
    erased = [d["erased"] for n, d in audit_events() if n == "CONSENT_WITHDRAWN"][-1]
    assert erased["swap.ephemeral_results"] == 1 and erased["swap.access_links"] == 1
    assert preview["swap.ephemeral_results"] == 1 and preview["swap.access_links"] == 1


def test_a_withdrawal_during_an_ephemeral_swap_wins_and_no_result_is_kept(
    api, alice, capture_media, image_template, monkeypatch, _media_root
):
    from swap import services

    real = services._ephemeral_render

    def render_then_withdraw(*args, **kwargs):
        output = real(*args, **kwargs)
        withdraw(alice, "ephemeral_swap")
        return output

    monkeypatch.setattr(services, "_ephemeral_render", render_then_withdraw)

    response = _swap(api, capture_media, image_template)

    assert response.status_code == 403
    assert not SwapJob.objects.exists()
    assert not [p for p in _media_root.rglob("*") if p.name.endswith(".result")]
