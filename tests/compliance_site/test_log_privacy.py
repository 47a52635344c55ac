"""No personal data in the application logs (invariant "numbers-found", docs/ARCHITECTURE.md;
China's Cybersecurity Law Art. 21 keeps logs six months, so nothing in them may identify a
person): the whole flow — sign-in by SMS code, consent, a capture, a swap, a report, an export
and erasure — runs through HTTP with every log record of every logger captured and formatted
by the production formatter, and no line holds the phone number (in any form), an SMS code, the
client's address or bytes of the photo, the video or the result."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from rest_framework.test import APIClient

from biometrics.models import Capture
from compliance_site.logs import JsonFormatter
from swap.models import SwapJob
from tests.consent.conftest import last_code, quote, request_code, verify_code
from tests.erasure.kit import ERASURE_URL, challenge_for, distinctive_runs, phone_forms, upload
from tests.swap.jobkit import make_template, request_swap

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+447400177123"
ADDRESS = "203.0.113.77"


class _Everything(logging.Handler):
    """Keeps every record and the line the production formatter writes for it."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.setFormatter(JsonFormatter())
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record) + repr(record.__dict__))


@pytest.fixture
def every_log_line():
    handler = _Everything()
    root = logging.getLogger()
    saved = root.level, {name: logging.getLogger(name).level for name in _named_loggers()}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in saved[1]:
        logging.getLogger(name).setLevel(logging.DEBUG)
    # Loggers that do not propagate would escape the root's handler: give them ours too.
    isolated = [
        logging.getLogger(name)
        for name in _named_loggers()
        if not logging.getLogger(name).propagate
    ]
    for logger in isolated:
        logger.addHandler(handler)
    yield handler
    for logger in isolated:
        logger.removeHandler(handler)
    root.removeHandler(handler)
    root.setLevel(saved[0])
    for name, level in saved[1].items():
        logging.getLogger(name).setLevel(level)


def _named_loggers() -> list[str]:
    return [n for n, v in logging.root.manager.loggerDict.items() if isinstance(v, logging.Logger)]


def _sign_in(outbox) -> tuple[APIClient, str]:
    api = APIClient(REMOTE_ADDR=ADDRESS)
    assert request_code(api, PHONE).status_code == 202
    code = last_code(outbox)
    response = verify_code(api, PHONE, code)
    assert response.status_code == 200, response.content
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return api, code


def test_no_log_line_of_the_whole_flow_holds_a_number_a_code_an_address_or_face_bytes(
    policies, _sms_outbox, capture_media, every_log_line
):
    api, code = _sign_in(_sms_outbox)
    assert api.post("/api/v1/consents/age", {"year_of_birth": 1990}, format="json").status_code in (
        200,
        201,
        204,
    )
    for purpose in ("biometric_enrolment", "face_swap"):
        response = api.post("/api/v1/consents", quote(purpose), format="json")
        assert response.status_code == 201, response.content
    challenge = challenge_for(api)
    video = capture_media.video(challenge["steps"])
    uploaded = upload(api, challenge=challenge["id"], photo=capture_media.photo, video=video)
    assert uploaded.status_code == 201, uploaded.content
    template = make_template()
    swap = request_swap(api, Capture.objects.get(pk=uploaded.json()["id"]), template)
    assert swap.status_code == 202, swap.content
    job = SwapJob.objects.get(pk=swap.json()["id"])
    assert job.status == SwapJob.Status.DONE, job.error
    result = api.get(f"/api/v1/swaps/{job.pk}/result")
    result_bytes = b"".join(result.streaming_content)
    assert api.get("/api/v1/me/report.pdf").status_code in (200, 202)
    assert api.get("/api/v1/me/export.json").status_code == 200
    assert api.post(ERASURE_URL).status_code == 202
    # A wrong code and a refused request are logged paths too.
    assert APIClient(REMOTE_ADDR=ADDRESS).get("/api/v1/consents").status_code in (401, 403)

    lines = every_log_line.lines
    assert lines, "the flow logged nothing: the capture is not working"
    needles = {f"number {form!r}": form for form in phone_forms(PHONE)}
    needles["the SMS code"] = code.encode()
    needles["the client address"] = ADDRESS.encode()
    for name, data in (
        ("photo", capture_media.photo),
        ("video", video),
        ("result", result_bytes),
    ):
        for i, run in enumerate(distinctive_runs(data, length=24)):
            needles[f"{name} bytes {i}"] = run
            needles[f"{name} base64 {i}"] = base64.b64encode(run)[:24]
            needles[f"{name} hex {i}"] = run.hex().encode()
    found = [
        (what, line[:300])
        for line in lines
        for what, needle in needles.items()
        if needle in line.encode("utf-8", "surrogateescape") or needle.decode("latin-1") in line
    ]
    assert not found, found


def test_every_production_log_line_is_one_json_object_with_time_level_and_logger():
    handler = _Everything()
    record = logging.LogRecord(
        "swap.services", logging.WARNING, __file__, 1, "job %s", ("x",), None
    )

    line = handler.format(record)

    parsed = json.loads(line)
    assert parsed["level"] == "WARNING" and parsed["logger"] == "swap.services"
    assert parsed["message"] == "job x" and parsed["time"].endswith("Z")
