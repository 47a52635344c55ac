"""The public "was this made here?" check: page and API read the invisible mark of an uploaded
image or clip and answer only whether this service made it and when; rate-limited per
network; each check audited with the answer and nothing about the caller."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEvent
from swap.engines import watermark
from tests.erasure.kit import client_for
from tests.swap.jobkit import make_template
from tests.swap.test_depicted_withdrawal import swapper  # noqa: F401

pytestmark = pytest.mark.django_db

PAGE = "/made-here/"
API = "/api/v1/made-here"


def _upload(data: bytes, name: str = "picture.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def _jpeg(image: np.ndarray, quality: int = 70) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


@pytest.fixture
def made_here(alice, swapper):  # noqa: F811
    """A finished swap of alice's, and its result as she downloads it (decoded)."""
    job, _ = swapper(alice)(make_template("image"))
    job.refresh_from_db()
    response = client_for(alice).get(f"/api/v1/swaps/{job.pk}/result")
    assert response.status_code == 200
    data = b"".join(response.streaming_content) if response.streaming else response.content
    return job, cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def test_a_result_shared_as_a_smaller_jpeg_is_recognised_with_its_date_only(
    made_here, audit_events
):
    job, image = made_here
    h, w = image.shape[:2]
    shared = _jpeg(cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA))

    response = APIClient().post(API, {"file": _upload(shared)}, format="multipart")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "made_here": True,
        "made_at": job.finished_at.isoformat().replace("+00:00", "Z"),
    }
    assert audit_events()[-1] == ("SWAP_MARK_CHECKED", {"kind": "image", "made_here": True})


def test_a_picture_we_did_not_make_is_not_claimed(astronaut, audit_events):
    response = APIClient().post(API, {"file": _upload(_jpeg(astronaut))}, format="multipart")

    assert response.status_code == 200
    assert response.json() == {"made_here": False, "made_at": None}
    assert audit_events()[-1] == ("SWAP_MARK_CHECKED", {"kind": "image", "made_here": False})


def test_a_mark_of_a_job_that_does_not_exist_here_is_not_claimed(astronaut):
    forged = watermark.embed(astronaut, "00000000-0000-4000-8000-000000000000")

    response = APIClient().post(API, {"file": _upload(_jpeg(forged, 95))}, format="multipart")

    assert response.json() == {"made_here": False, "made_at": None}


def test_the_page_answers_in_words(made_here):
    job, image = made_here
    client = Client()

    answer = client.post(PAGE, {"file": _upload(_jpeg(image), "shared.jpg")})

    assert answer.status_code == 200
    assert "Yes: this was made by our face swap" in answer.content.decode()
    assert client.get(PAGE).status_code == 200


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"not a picture at all", "unsupported_image"), (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, None)],
)
def test_what_cannot_be_read_is_refused_clearly_not_with_a_500(data, reason):
    response = APIClient().post(API, {"file": _upload(data, "x.bin")}, format="multipart")

    assert response.status_code == 422, response.content
    if reason:
        assert response.json()["reason"] == reason
    page = Client().post(PAGE, {"file": _upload(data, "x.bin")})
    assert page.status_code == 422


def test_a_missing_file_is_a_400():
    assert APIClient().post(API, {}, format="multipart").status_code == 400
    assert Client().post(PAGE, {}).status_code == 400


def test_checks_are_limited_per_network_and_nothing_about_the_caller_is_kept(astronaut):
    picture = _jpeg(astronaut)
    for _check in range(30):
        ok = APIClient().post(API, {"file": _upload(picture)}, REMOTE_ADDR="203.0.113.9")
        assert ok.status_code == 200

    limited = APIClient().post(API, {"file": _upload(picture)}, REMOTE_ADDR="203.0.113.9")
    page = Client().post(PAGE, {"file": _upload(picture)}, REMOTE_ADDR="203.0.113.9")

    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    assert page.status_code == 429 and page["Retry-After"]
    other = APIClient().post(API, {"file": _upload(picture)}, REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 200
    logged = " ".join(AuditEvent.objects.values_list("data_jcs", flat=True))
    assert "203.0.113" not in logged and "198.51.100" not in logged


def test_a_check_refused_past_the_limit_is_audited_without_the_address(astronaut, audit_events):
    picture = _jpeg(astronaut)
    for _check in range(30):
        ok = APIClient().post(API, {"file": _upload(picture)}, REMOTE_ADDR="203.0.113.9")
        assert ok.status_code == 200

    limited = APIClient().post(API, {"file": _upload(picture)}, REMOTE_ADDR="203.0.113.9")
    page = Client().post(PAGE, {"file": _upload(picture)}, REMOTE_ADDR="203.0.113.9")

    assert limited.status_code == page.status_code == 429
    refused = [event for event in audit_events() if event[0] == "SWAP_MARK_CHECK_REFUSED"]
    assert refused == [("SWAP_MARK_CHECK_REFUSED", {"reason": "rate_limited"})] * 2
    logged = " ".join(AuditEvent.objects.values_list("data_jcs", flat=True))
    assert "203.0.113" not in logged
