"""What each withdrawal does to everything made from a face, through HTTP and the real
database: ``biometric_enrolment`` leaves no copy of the face (captures, every result kept or
not, running jobs, stored reports, then the data key); ``face_swap`` cancels and erases what
``output_storage`` does not keep; ``output_storage`` erases kept results older than 24 hours
and keeps younger ones until 24 hours after they were made. The data key goes as soon as
nothing readable needs it. Each audit event counts exactly what went, and the withdrawal
preview said so beforehand."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from audit.services import retention_sweep
from biometrics.models import Capture, SubjectKey
from compliance_site import inventory
from swap.models import SwapJob
from tests.erasure.kit import client_for
from tests.swap.jobkit import CLIP_FRAMES, SWAPS_URL, EngineSpy, request_swap, withdraw

pytestmark = pytest.mark.django_db


@pytest.fixture
def made(ready, django_capture_on_commit_callbacks):
    """``made(template)`` → a job requested through the API and run by the worker (done)."""

    def make(template):
        api, capture = ready
        with django_capture_on_commit_callbacks(execute=True):
            job_id = request_swap(api, capture, template).json()["id"]
        return SwapJob.objects.get(pk=job_id)

    return make


def result_files(media_root) -> list:
    folder = media_root / "swap_results"
    return sorted(folder.iterdir()) if folder.exists() else []


def withdrawn_event(audit_events) -> dict:
    [data] = [data for name, data in audit_events() if name == "CONSENT_WITHDRAWN"]
    return data


# --- biometric_enrolment ------------------------------------------------------------------------


def test_withdrawing_enrolment_erases_every_result_made_from_the_face(
    alice, grant_consent, made, image_template, audit_events, _media_root
):
    day_only = made(image_template)
    grant_consent(alice, "output_storage")
    kept = made(image_template)
    api = client_for(alice)
    assert api.get(f"{SWAPS_URL}/{day_only.pk}/result").status_code == 200
    assert api.get(f"{SWAPS_URL}/{kept.pk}/result").status_code == 200

    withdraw(alice, "biometric_enrolment")

    for job in (day_only, kept):
        assert api.get(f"{SWAPS_URL}/{job.pk}/result").status_code == 404
    assert not SwapJob.objects.filter(subject=alice).exists()
    assert result_files(_media_root) == []
    assert not Capture.objects.filter(subject=alice).exists()
    erased = withdrawn_event(audit_events)["erased"]
    assert erased["swap.jobs"] == 1 and erased["swap.stored_results"] == 1
    assert erased["biometrics.captures"] == 1 and erased["biometrics.subject_key"] == 1


def test_withdrawing_enrolment_stops_a_running_clip_and_keeps_nothing(
    alice, ready, clip_template, monkeypatch, django_capture_on_commit_callbacks, _media_root
):
    api, capture = ready
    spy = EngineSpy(
        monkeypatch, on_call=lambda call: call == 2 and withdraw(alice, "biometric_enrolment")
    )
    with django_capture_on_commit_callbacks(execute=True):
        request_swap(api, capture, clip_template)

    assert spy.calls < CLIP_FRAMES
    assert not SwapJob.objects.filter(subject=alice).exists()
    assert result_files(_media_root) == []


def test_withdrawing_enrolment_destroys_the_data_key(alice, made, image_template):
    made(image_template)
    assert SubjectKey.objects.filter(subject=alice).exists()

    withdraw(alice, "biometric_enrolment")

    assert not SubjectKey.objects.filter(subject=alice).exists()
    assert all(refs == [] for name, refs in inventory.locate_all(alice.pk).items()
               if name.startswith(("biometrics.", "swap.")))  # fmt: skip


# --- face_swap ----------------------------------------------------------------------------------


def test_withdrawing_face_swap_cancels_queued_jobs_and_erases_only_unkept_results(
    alice, grant_consent, made, ready, image_template, django_capture_on_commit_callbacks,
    audit_events,
):  # fmt: skip
    day_only = made(image_template)
    grant_consent(alice, "output_storage")
    kept = made(image_template)
    api, capture = ready
    with django_capture_on_commit_callbacks():  # queued, never delivered
        queued_id = request_swap(api, capture, image_template).json()["id"]

    withdraw(alice, "face_swap")

    assert list(SwapJob.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not SwapJob.objects.filter(pk__in=[day_only.pk, queued_id]).exists()
    assert client_for(alice).get(f"{SWAPS_URL}/{kept.pk}/result").status_code == 200
    events = audit_events()
    cancelled = [d for n, d in events if n == "SWAP_JOB_CANCELLED"]
    assert cancelled == [{"reason": "erased"}]
    assert withdrawn_event(audit_events)["erased"] == {"swap.access_links": 0, "swap.jobs": 2}


# --- output_storage -----------------------------------------------------------------------------


def test_withdrawing_output_storage_keeps_a_young_result_until_24_hours_after_it_was_made(
    alice, grant_consent, made, image_template, audit_events
):
    grant_consent(alice, "output_storage")
    job = made(image_template)

    with time_machine.travel(job.finished_at + timedelta(minutes=1)):
        withdraw(alice, "output_storage")

    job.refresh_from_db()
    assert not job.stored and job.expires_at == job.finished_at + timedelta(hours=24)
    assert client_for(alice).get(f"{SWAPS_URL}/{job.pk}/result").status_code == 200
    assert withdrawn_event(audit_events)["erased"] == {
        "swap.access_links": 0,
        "swap.stored_results": 0,
    }
    with time_machine.travel(job.finished_at + timedelta(hours=23)):
        assert retention_sweep()["swap.results"] == 0
    with time_machine.travel(job.finished_at + timedelta(hours=25)):
        assert retention_sweep()["swap.results"] == 1
    assert not SwapJob.objects.filter(pk=job.pk).exists()


def test_withdrawing_output_storage_erases_kept_results_older_than_24_hours(
    alice, grant_consent, made, image_template, audit_events, _media_root
):
    grant_consent(alice, "output_storage")
    job = made(image_template)

    with time_machine.travel(job.finished_at + timedelta(hours=25)):
        withdraw(alice, "output_storage")

    assert not SwapJob.objects.filter(pk=job.pk).exists() and result_files(_media_root) == []
    assert withdrawn_event(audit_events)["erased"] == {
        "swap.access_links": 0,
        "swap.stored_results": 1,
    }


def test_after_output_storage_is_withdrawn_new_results_are_kept_24_hours_only(
    alice, grant_consent, made, image_template
):
    grant_consent(alice, "output_storage")
    withdraw(alice, "output_storage")

    job = made(image_template)

    assert not job.stored and job.expires_at == job.finished_at + timedelta(hours=24)


# --- the key goes as soon as nothing readable needs it -------------------------------------------


def test_deleting_the_last_capture_and_result_destroys_the_data_key(
    alice, made, ready, image_template, audit_events
):
    api, capture = ready
    job = made(image_template)

    assert api.delete(f"/api/v1/captures/{capture.pk}").status_code == 204
    assert SubjectKey.objects.filter(subject=alice).exists()  # the result still needs it
    assert api.delete(f"{SWAPS_URL}/{job.pk}").status_code == 204

    assert not SubjectKey.objects.filter(subject=alice).exists()
    name, data = audit_events()[-1]
    assert name == "SUBJECT_KEY_DESTROYED"
    assert data == {"reason": "result_deleted", "erased": {"biometrics.subject_key": 1}}


def test_the_retention_sweep_destroys_a_key_once_its_last_result_expired(
    alice, made, ready, image_template, audit_events
):
    api, capture = ready
    job = made(image_template)
    assert api.delete(f"/api/v1/captures/{capture.pk}").status_code == 204

    with time_machine.travel(job.finished_at + timedelta(hours=23)):
        assert retention_sweep()["biometrics.subject_keys"] == 0
    assert SubjectKey.objects.filter(subject=alice).exists()
    with time_machine.travel(job.finished_at + timedelta(hours=25)):
        counts = retention_sweep()

    assert counts["swap.results"] == 1 and counts["biometrics.subject_keys"] == 1
    assert not SubjectKey.objects.filter(subject=alice).exists()


def test_a_key_that_still_opens_a_capture_survives_the_sweep(alice, enrolled):
    enrolled(alice)
    with time_machine.travel(timedelta(days=30)):
        assert retention_sweep()["biometrics.subject_keys"] == 0
    assert SubjectKey.objects.filter(subject=alice).exists()


def test_withdrawing_face_swap_keeps_the_key_that_still_opens_a_capture(
    alice, made, image_template, audit_events
):
    made(image_template)

    withdraw(alice, "face_swap")

    # The result (the only other thing under the key) went; the capture still needs the key.
    assert not SwapJob.objects.filter(subject=alice).exists()
    assert Capture.objects.filter(subject=alice).exists()
    assert SubjectKey.objects.filter(subject=alice).exists()
    assert "biometrics.subject_key" not in withdrawn_event(audit_events)["erased"]


def test_a_failed_swap_holds_nothing_under_the_key_so_deleting_the_last_capture_destroys_it(
    alice, ready, image_template, django_capture_on_commit_callbacks, audit_events
):
    """The policy text: the key is destroyed as soon as nothing encrypted with it is kept. A
    swap that failed has no result: its row (kept 24 hours, to say why) is not a reason to
    keep the key once the last capture is gone."""
    from tests.swap.jobkit import expire_depicted_consent

    api, capture = ready
    with django_capture_on_commit_callbacks(execute=False) as queued:
        job_id = request_swap(api, capture, image_template).json()["id"]
    expire_depicted_consent(image_template)
    for task in queued:
        task()
    job = SwapJob.objects.get(pk=job_id)
    assert job.status == "failed" and not job.result

    assert api.delete(f"/api/v1/captures/{capture.pk}").status_code == 204

    assert not SubjectKey.objects.filter(subject=alice).exists()
    assert SwapJob.objects.filter(pk=job_id).exists()  # the failure is still explained
    name, data = audit_events()[-1]
    assert name == "SUBJECT_KEY_DESTROYED" and data["reason"] == "capture_deleted"


def test_a_result_past_its_24_hours_is_not_served_even_before_the_sweep_erases_it(
    alice, grant_consent, made, image_template
):
    """Kept 24 hours, then erased: the sweep runs every hour or so, and meanwhile a result past
    its time is gone for the subject (404 ``result_gone``), here after output storage was
    withdrawn while it was 23 hours old."""
    grant_consent(alice, "output_storage")
    job = made(image_template)
    with time_machine.travel(job.finished_at + timedelta(hours=23)):
        withdraw(alice, "output_storage")

    with time_machine.travel(job.finished_at + timedelta(hours=23, minutes=59)):
        assert client_for(alice).get(f"{SWAPS_URL}/{job.pk}/result").status_code == 200
    with time_machine.travel(job.finished_at + timedelta(hours=24, minutes=1)):
        response = client_for(alice).get(f"{SWAPS_URL}/{job.pk}/result")

    assert response.status_code == 404 and response.json()["code"] == "result_gone"
