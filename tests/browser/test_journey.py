"""Every flow of the portal, end to end, in headless Chromium against a live server at
127.0.0.1 with a real Celery worker: in English on a phone and in Chinese on a desktop (each
flow in both languages and at both sizes; an image swap and a report made at once in one, a
clip swap and a report made by the worker in the other), with a check and a screenshot at every
step."""

from __future__ import annotations

import pytest

from audit import signing
from biometrics.models import Capture
from consent.identity.models import User
from consent.ledger.models import ConsentRecord
from tests.browser import flows
from tests.swap.jobkit import make_template

# What every swap result carries in its file (invariant "labelled-output", docs/ARCHITECTURE.md),
# next to the visible label.
IPTC_AI = b"compositeWithTrainedAlgorithmicMedia"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("policies"),
]


@pytest.mark.parametrize(
    ("language", "viewport", "kind", "background_report"),
    [("en", "phone", "image", False), ("zh-hans", "desktop", "video", True)],
    ids=["en-phone", "zh-desktop"],
)
def test_a_person_goes_through_every_flow_from_sign_in_to_erasure(
    open_portal, worker, settings, tmp_path, language, viewport, kind, background_report
):
    if background_report:  # every history is "long": the worker makes the report
        settings.REPORT_ASYNC_EVENTS = 0
    camera = tmp_path / "camera.y4m"
    portal = open_portal(viewport=viewport, language=language, camera=camera)
    template = make_template(kind, title=f"Licensed {kind}")

    flows.sign_in(portal)
    user = User.objects.get(phone_number=flows.PHONE)
    flows.grant(portal, "biometric_enrolment", "face_swap", "output_storage")
    assert ConsentRecord.objects.filter(subject=user).count() == 3

    flows.capture(portal, camera)
    assert Capture.objects.filter(subject=user).count() == 1

    result = flows.swap(portal, template.title)
    assert IPTC_AI in result
    assert result.startswith(b"\x89PNG") if kind == "image" else result[4:8] == b"ftyp"

    report = flows.download_report(portal, background=background_report)
    assert report.startswith(b"%PDF")

    flows.delete_capture(portal)
    assert not Capture.objects.filter(subject=user).exists()

    flows.withdraw(portal, "biometric_enrolment")
    certificate = flows.erase_account(portal)

    assert certificate["type"] == "faceledger-erasure-certificate"
    assert certificate["verified_empty"] is True
    assert signing.verify("erasure", certificate)
    assert not User.objects.filter(phone_number=flows.PHONE).exists()
