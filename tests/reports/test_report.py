"""The user-data report (GDPR Art. 15, PIPL Art. 45): a PDF assembled from every store's export,
read back with pypdf; long histories made by a worker, stored encrypted, expiring; audited."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.utils import timezone
from pypdf import PdfReader

from audit.models import AuditEvent, SubjectPseudonym
from audit.services import audit_seal, retention_sweep
from biometrics.models import Capture
from compliance_site import inventory
from compliance_site.fonts import missing_glyphs
from consent.ledger.models import ConsentRecord, PolicyText
from consent.ledger.selectors import ClientEvidence
from consent.ledger.services import consent_withdraw
from consent.reports.models import ReportJob
from tests.reports.conftest import REPORT_URL, many_events, pdf_fonts, pdf_pages, pdf_text

pytestmark = pytest.mark.django_db


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _titles(language: str) -> list[str]:
    return [t.title for t in PolicyText.objects.filter(language=language)]


def test_the_report_holds_the_subjects_consents_captures_swaps_and_events_and_nothing_of_bob(
    lived_in, alice, bob, api_for, swap_of
):
    swap_of(alice, "Astronaut (NASA, public domain)")
    audit_seal()
    response = api_for(alice).get(REPORT_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    text = pdf_text(response.content)
    flat = re.sub(r"\s+", "", text)  # table cells wrap long values over lines
    for title in _titles("en"):
        assert _flat(title) in flat
    for record in ConsentRecord.objects.filter(subject=alice):
        assert str(record.receipt_id) in flat and record.text_sha256 in flat
    assert "given" in text and "withdrawn" in text
    assert "passed (turn left, blink)" in text  # the capture's liveness result
    assert "Face captured" in text and "Consent withdrawn" in text  # audit events
    assert _flat("Astronaut (NASA, public domain)") in flat  # the swap and its template
    assert "Templates used" in text
    assert SubjectPseudonym.objects.get(subject_id=alice.pk).pseudonym in text
    # Masked (pypdf reads the bullet of the standard fonts back as \x7f; poppler as "•").
    assert re.search(r"\+44 [•\x7f]{7}001", text)
    # Nothing of Bob's: his pseudonym, his receipts, his number.
    assert SubjectPseudonym.objects.get(subject_id=bob.pk).pseudonym not in text
    for record in ConsentRecord.objects.filter(subject=bob):
        assert str(record.receipt_id) not in flat
    assert "7400100002" not in flat and "7400100001" not in flat


def test_the_report_shows_a_thumbnail_of_the_subjects_own_photo(lived_in, alice, api_for):
    response = api_for(alice).get(REPORT_URL)

    reader = PdfReader(io.BytesIO(response.content))
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == Capture.objects.filter(subject=alice).count() == 1
    assert images[0].image.width <= 240 and images[0].image.height <= 240


def test_a_zh_hans_report_embeds_its_one_font_and_its_text_extracts_intact(
    lived_in, alice, api_for
):
    response = api_for(alice).get(REPORT_URL, {"lang": "zh-hans"})

    assert response.status_code == 200
    text = pdf_text(response.content)
    flat = re.sub(r"\s+", "", text)
    for title in _titles("zh-hans"):  # every glyph present: the reader maps each back
        assert re.sub(r"\s+", "", title) in flat
    assert "·" in text  # the separator that a font without it drew as a box
    fonts = pdf_fonts(response.content)
    assert fonts and all(embedded for embedded in fonts.values()), fonts
    assert all("FaceledgerSansCJK" in name for name in fonts), fonts
    assert not missing_glyphs(text)


def test_accept_language_chooses_chinese_too(lived_in, alice, api_for):
    response = api_for(alice).get(REPORT_URL, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")

    text = re.sub(r"\s+", "", pdf_text(response.content))
    assert re.sub(r"\s+", "", _titles("zh-hans")[0]) in text


def test_long_reports_number_their_pages_and_repeat_table_headers(lived_in, alice, api_for):
    many_events(alice, 400)
    response = api_for(alice).get(REPORT_URL)

    pages = pdf_pages(response.content)
    assert pages >= 6
    reader = PdfReader(io.BytesIO(response.content))
    texts = [page.extract_text() for page in reader.pages]
    for number, page in enumerate(texts, start=1):
        assert f"Page {number} of {pages}" in page
        assert "generated" in page  # the footer carries the generation time
    event_pages = [page for page in texts if "channel api" in page]
    assert len(event_pages) >= 4
    assert all(re.search(r"#\s*Time\s*Event\s*By\s*Details", page) for page in event_pages)


def test_event_details_are_shown_whole_never_cut_with_an_ellipsis(lived_in, alice, api_for):
    from audit.actions import AuditAction
    from audit.services import audit_record

    long_value = "-".join(f"part{n:02d}" for n in range(40))  # far wider than the column
    audit_record(actor=alice, subject=alice, action=AuditAction.LOGIN, data={"channel": long_value})

    text = pdf_text(api_for(alice).get(REPORT_URL).content)

    assert long_value in re.sub(r"\s+", "", text)
    assert "…" not in text


def test_a_report_made_in_the_request_writes_one_audit_event(
    lived_in, alice, api_for, audit_events
):
    pseudonym = SubjectPseudonym.objects.get(subject_id=alice.pk).pseudonym
    about_alice = AuditEvent.objects.filter(subject=pseudonym).count()

    response = api_for(alice).get(REPORT_URL, {"lang": "zh-hans"})

    assert response.status_code == 200
    assert audit_events() == [
        (
            "REPORT_GENERATED",
            {"delivery": "direct", "events": about_alice, "format": "pdf", "language": "zh-hans"},
        )
    ]


# --- long histories: made by a worker -----------------------------------------------------------


@pytest.fixture
def long_history(lived_in, alice, settings):
    settings.REPORT_ASYNC_EVENTS = 20
    many_events(alice, 25)
    return alice


def test_a_long_history_gets_a_job_whose_pdf_is_stored_encrypted_and_downloaded(
    long_history, alice, api_for, audit_events, django_capture_on_commit_callbacks
):
    api = api_for(alice)
    with django_capture_on_commit_callbacks(execute=True):  # the worker runs (eagerly)
        response = api.get(REPORT_URL)

    assert response.status_code == 202
    job = ReportJob.objects.get(subject=alice)
    assert response.json()["id"] == str(job.pk)
    assert response["Location"] == f"/api/v1/me/report/{job.pk}"
    status = api.get(response["Location"]).json()
    assert status["status"] == "done" and status["progress"] == 100
    assert status["download_url"] == f"/api/v1/me/report/{job.pk}/download"
    with default_storage.open(job.file, "rb") as fh:
        stored = fh.read()
    assert not stored.startswith(b"%PDF") and b"Your personal data" not in stored
    assert job.expires_at - job.completed_at == timedelta(hours=24)

    download = api.get(status["download_url"])

    assert download.status_code == 200
    assert download.content.startswith(b"%PDF")
    assert "Your personal data" in pdf_text(download.content)
    names = [name for name, _data in audit_events()]
    assert names == ["REPORT_REQUESTED", "REPORT_GENERATED", "REPORT_DOWNLOADED"]
    assert audit_events()[1][1] == {"delivery": "job", "format": "pdf", "language": "en"}


def test_a_second_request_while_a_job_waits_returns_the_same_job(long_history, alice, api_for):
    api = api_for(alice)
    first = api.get(REPORT_URL).json()  # not committed: no worker runs yet
    second = api.get(REPORT_URL).json()

    assert first["id"] == second["id"] and first["status"] == "pending"
    assert ReportJob.objects.filter(subject=alice).count() == 1


def test_a_job_not_ready_yet_cannot_be_downloaded(long_history, alice, api_for):
    api = api_for(alice)
    job = api.get(REPORT_URL).json()

    response = api.get(f"/api/v1/me/report/{job['id']}/download")

    assert response.status_code == 409
    assert response.json()["code"] == "report_not_ready"


def test_a_job_whose_worker_died_is_failed_and_a_new_one_made(
    long_history, alice, api_for, audit_events, settings
):
    api = api_for(alice)
    lost = api.get(REPORT_URL).json()
    ReportJob.objects.filter(pk=lost["id"]).update(status="running")
    later = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 120)
    ReportJob.objects.filter(pk=lost["id"]).update(
        claimed_at=ReportJob.objects.get(pk=lost["id"]).requested_at - later
    )

    fresh = api.get(REPORT_URL).json()

    assert fresh["id"] != lost["id"]
    assert ReportJob.objects.get(pk=lost["id"]).status == "failed"
    assert ReportJob.objects.get(pk=lost["id"]).error == "worker_lost"
    assert [n for n, _d in audit_events()] == [
        "REPORT_REQUESTED",
        "REPORT_FAILED",
        "REPORT_REQUESTED",
    ]


def test_another_subject_cannot_see_or_download_a_job(
    long_history, alice, bob, api_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = api_for(alice).get(REPORT_URL).json()
    bob_api = api_for(bob)

    for url in (f"/api/v1/me/report/{job['id']}", f"/api/v1/me/report/{job['id']}/download"):
        response = bob_api.get(url)
        assert response.status_code == 404
        assert response.json()["code"] == "report_not_found"


def test_a_stored_report_is_erased_by_the_retention_sweep_after_24_hours(
    long_history, alice, api_for, django_capture_on_commit_callbacks
):
    api = api_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        job = api.get(REPORT_URL).json()
    name = ReportJob.objects.get(pk=job["id"]).file
    assert default_storage.exists(name)

    retention_sweep()  # not yet
    assert default_storage.exists(name)
    with time_machine.travel(timedelta(hours=24, minutes=1)):
        counts = retention_sweep()

    assert counts["consent.reports"] == 1
    assert not default_storage.exists(name)
    assert not ReportJob.objects.filter(pk=job["id"]).exists()
    assert api.get(f"/api/v1/me/report/{job['id']}/download").status_code == 404


def test_a_data_key_only_a_stored_report_needs_goes_when_the_report_expires(
    long_history, alice, api_for, django_capture_on_commit_callbacks
):
    from biometrics.models import SubjectKey
    from biometrics.services import capture_delete

    for capture in Capture.objects.filter(subject=alice):
        capture_delete(subject=alice, capture_id=capture.pk)
    assert not SubjectKey.objects.filter(subject=alice).exists()  # nothing needed it
    with django_capture_on_commit_callbacks(execute=True):
        api_for(alice).get(REPORT_URL)
    assert SubjectKey.objects.filter(subject=alice).exists()  # made to encrypt the report

    with time_machine.travel(timedelta(hours=24, minutes=1)):
        counts = retention_sweep()

    assert counts["consent.reports"] == 1 and counts["biometrics.subject_keys"] == 1
    assert not SubjectKey.objects.filter(subject=alice).exists()
    assert SubjectKey.objects.filter(subject__phone_number="+447400100002").exists()  # Bob's


def test_withdrawing_enrolment_erases_stored_reports_with_their_thumbnails(
    long_history, alice, api_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api_for(alice).get(REPORT_URL)
    name = ReportJob.objects.get(subject=alice).file

    evidence = ClientEvidence(method=ConsentRecord.Method.API)
    consent_withdraw(subject=alice, purpose="biometric_enrolment", evidence=evidence)

    assert not ReportJob.objects.filter(subject=alice).exists()
    assert not default_storage.exists(name)
    assert inventory.locate_all(alice.pk)["consent.reports"] == []


def test_the_reports_store_locates_exports_and_erases(
    long_history, alice, api_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = api_for(alice).get(REPORT_URL).json()
    store = next(s for s in inventory.stores() if s.name == "consent.reports")
    name = ReportJob.objects.get(pk=job["id"]).file

    assert store.locate(alice.pk) == [f"report:{job['id']}", f"file:{name}"]
    assert store.export(alice.pk)[0]["status"] == "done"
    assert store.erase(alice.pk) == 1
    assert store.locate(alice.pk) == [] and store.erase(alice.pk) == 0


# --- bad input ----------------------------------------------------------------------------------


def test_bad_report_requests_get_a_4xx_with_a_code(alice, api_for, client):
    api = api_for(alice)

    assert api.get(REPORT_URL, {"lang": "klingon"}).json()["code"] == "invalid_language"
    assert api.get("/api/v1/me/report/not-a-uuid").status_code == 404
    unknown = api.get("/api/v1/me/report/6f1b1f5e-0000-4000-8000-000000000000")
    assert unknown.status_code == 404 and unknown.json()["code"] == "report_not_found"
    anonymous = client.get(REPORT_URL)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"


def test_a_client_that_accepts_only_pdf_gets_the_pdf(lived_in, alice, api_for):
    response = api_for(alice).get(REPORT_URL, HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")


def test_the_portal_makes_a_long_report_in_the_background_and_shows_its_progress(
    long_history, alice, client
):
    client.force_login(alice)
    waiting = client.get(REPORT_URL.replace("/api/v1/me/", "/account/"))  # not committed yet
    job = ReportJob.objects.get(subject=alice)
    assert waiting.status_code == 302 and waiting["Location"] == f"/account/report/{job.pk}/"
    pending = client.get(waiting["Location"]).content.decode()
    assert 'data-refresh="working"' in pending and "<progress" in pending

    from consent.reports.services import report_job_run

    report_job_run(job_id=job.pk)  # what the worker does
    done = client.get(waiting["Location"]).content.decode()
    pdf = client.get(f"/account/report/{job.pk}/report.pdf")

    assert "data-refresh" not in done
    assert f'href="/account/report/{job.pk}/report.pdf"' in done
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_status_of_a_job_whose_worker_died_says_failed_not_running(
    long_history, alice, api_for, settings, audit_events
):
    api = api_for(alice)
    job = api.get(REPORT_URL).json()
    ReportJob.objects.filter(pk=job["id"]).update(status="running", claimed_at=timezone.now())
    with time_machine.travel(timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 120)):
        status = api.get(job["status_url"]).json()

    assert status["status"] == "failed" and status["error"] == "worker_lost"
    assert audit_events()[-1] == ("REPORT_FAILED", {"error": "worker_lost"})


def test_deleting_a_capture_leaves_no_copy_of_its_photo_in_a_stored_report(
    long_history, alice, api_for, audit_events, django_capture_on_commit_callbacks
):
    """The biometric text: the photo is kept until you delete the capture. A stored report
    made while the capture existed holds a thumbnail of it: deleting the capture takes it."""
    api = api_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        job_id = api.get(REPORT_URL).json()["id"]
    [capture] = Capture.objects.filter(subject=alice)
    name = ReportJob.objects.get(pk=job_id).file
    download = f"/api/v1/me/report/{job_id}/download"
    before = PdfReader(io.BytesIO(api.get(download).content))
    assert [image for page in before.pages for image in page.images]

    assert api.delete(f"/api/v1/captures/{capture.pk}").status_code == 204

    assert api.get(download).status_code == 404
    assert not ReportJob.objects.filter(subject=alice).exists()
    assert not default_storage.exists(name)
    [deleted] = [data for event, data in audit_events() if event == "CAPTURE_DELETED"]
    assert deleted["copies_erased"] == {"consent.reports": 1}


def test_a_capture_erased_by_retention_leaves_no_copy_of_its_photo_in_a_stored_report(
    long_history, alice, api_for, django_capture_on_commit_callbacks
):
    """At most 365 days after its last use the capture is erased automatically; a report made
    the day before showed its photo, and goes in the same sweep."""
    [capture] = Capture.objects.filter(subject=alice)
    end = capture.created_at + timedelta(days=365)
    with time_machine.travel(end - timedelta(hours=1)):
        with django_capture_on_commit_callbacks(execute=True):
            job_id = api_for(alice).get(REPORT_URL).json()["id"]
    name = ReportJob.objects.get(pk=job_id).file
    assert name and default_storage.exists(name)

    with time_machine.travel(end + timedelta(minutes=1)):
        retention_sweep()

    assert not Capture.objects.filter(subject=alice).exists()
    assert not ReportJob.objects.filter(pk=job_id).exists() and not default_storage.exists(name)
