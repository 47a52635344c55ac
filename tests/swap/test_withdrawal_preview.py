"""Before each withdrawal the API (``GET /api/v1/consents/<purpose>/withdrawal``) and the
consent centre ("check before you withdraw") say exactly what it will erase, per store in
plain words and counts, and what remains and why; the counts are the ones the withdrawal then
erases and records in its audit event."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from swap.models import SwapJob
from tests.erasure.kit import client_for
from tests.swap.jobkit import request_swap

pytestmark = pytest.mark.django_db

CONSENTS = "/api/v1/consents"


@pytest.fixture
def world(
    alice, enrolled, grant_consent, ready, image_template, django_capture_on_commit_callbacks
):
    """Alice with two captures, a 24-hour result, a kept result two days old, a kept result
    made now and a queued job: something for every purpose's withdrawal to do."""
    api, capture = ready
    enrolled(alice)

    def run(execute=True):
        with django_capture_on_commit_callbacks(execute=execute):
            return request_swap(api, capture, image_template).json()["id"]

    run()
    grant_consent(alice, "output_storage")
    old = run()
    SwapJob.objects.filter(pk=old).update(finished_at=timezone.now() - timedelta(days=2))
    run()
    run(execute=False)  # queued, never delivered
    return api


def withdrawn_erased(audit_events) -> dict:
    [data] = [data for name, data in audit_events() if name == "CONSENT_WITHDRAWN"]
    return data["erased"]


@pytest.mark.parametrize("purpose", ["biometric_enrolment", "face_swap", "output_storage"])
def test_the_preview_counts_exactly_what_the_withdrawal_then_erases(world, purpose, audit_events):
    preview = world.get(f"{CONSENTS}/{purpose}/withdrawal")
    assert preview.status_code == 200, preview.content
    promised = {line["store"]: line["count"] for line in preview.json()["erases"]}

    assert world.delete(f"{CONSENTS}/{purpose}").status_code == 200

    assert withdrawn_erased(audit_events) == promised


def test_the_preview_of_enrolment_names_every_copy_of_the_face_in_plain_words(world):
    body = world.get(f"{CONSENTS}/biometric_enrolment/withdrawal").json()

    erases = {line["store"]: line["items"] for line in body["erases"]}
    assert erases == {
        "consent.reports": "0 data reports",
        "swap.access_links": "0 share links",
        "swap.jobs": "2 swap requests and results",
        "swap.stored_results": "2 kept swap results",
        "biometrics.captures": "2 face captures",
        "biometrics.challenges": "0 liveness challenges",
        "biometrics.subject_key": "1 data key",
    }
    assert body["summary"] == (
        "2 swap requests and results, 2 kept swap results, 2 face captures, 1 data key"
    )
    remains = {line["store"] for line in body["remains"]}
    assert "consent.ledger" in remains  # the proof of consent stays, and says why
    assert not remains & {"swap.jobs", "swap.stored_results", "biometrics.captures"}


def test_the_preview_of_output_storage_says_young_results_stay_and_why(world):
    body = world.get(f"{CONSENTS}/output_storage/withdrawal").json()

    assert body["summary"] == "1 kept swap result"
    [kept] = [line for line in body["remains"] if line["store"] == "swap.stored_results"]
    assert kept["count"] == 1 and "24 hours after they were made" in kept["retention"]


def test_the_preview_speaks_chinese_when_asked(world):
    body = world.get(f"{CONSENTS}/biometric_enrolment/withdrawal?lang=zh-hans").json()

    erases = {line["store"]: line["items"] for line in body["erases"]}
    assert erases["biometrics.captures"] == "2 张面部采集"
    assert "、" in body["summary"]


def test_the_preview_changes_nothing(world, audit_events):
    before = (SwapJob.objects.count(), len(audit_events()))
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        world.get(f"{CONSENTS}/biometric_enrolment/withdrawal")
    assert (SwapJob.objects.count(), len(audit_events())) == before


def test_a_preview_of_what_was_never_granted_or_does_not_exist_is_refused_clearly(alice, bob):
    api = client_for(bob)

    never = api.get(f"{CONSENTS}/face_swap/withdrawal")
    unknown = api.get(f"{CONSENTS}/no_such_purpose/withdrawal")
    anonymous = Client().get(f"{CONSENTS}/face_swap/withdrawal")

    assert (never.status_code, never.json()["code"]) == (409, "not_granted")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_purpose")
    assert anonymous.status_code in (401, 403)


# --- the consent centre ------------------------------------------------------------------------


@pytest.fixture
def browser(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def test_the_centres_withdraw_button_asks_first_and_the_check_page_withdraws(
    world, browser, alice, audit_events
):
    centre = browser.get("/consent/").content.decode()
    assert re.search(r'<form method="get" action="/consent/withdraw/">', centre)

    check = browser.get("/consent/withdraw/?purpose=biometric_enrolment&lang=en")
    page = check.content.decode()
    assert check.status_code == 200 and "Check before you withdraw" in page
    assert "2 face captures" in page and "2 kept swap results" in page and "1 data key" in page
    assert SwapJob.objects.filter(subject=alice).count() == 4  # asking erased nothing
    promised = dict(re.findall(r'data-store="([a-z_.]+)" data-count="(\d+)"', page))

    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    done = browser.post(
        "/consent/withdraw/",
        {"purpose": "biometric_enrolment", "lang": "en", "csrfmiddlewaretoken": token},
    )

    assert done.status_code == 302
    erased = withdrawn_erased(audit_events)
    assert {store: int(promised[store]) for store in erased} == erased
    assert not SwapJob.objects.filter(subject=alice).exists()


def test_the_check_page_is_in_chinese_too(world, browser):
    page = browser.get("/consent/withdraw/?purpose=face_swap&lang=zh-hans").content.decode()

    assert "撤回前请核对" in page


def test_the_check_page_for_an_unknown_purpose_is_a_clear_404(browser, policies):
    response = browser.get("/consent/withdraw/?purpose=nope")

    assert response.status_code == 404
    assert "There is no purpose called" in response.content.decode()


def test_the_preview_says_when_a_face_swap_withdrawal_takes_the_key_and_it_does(
    alice, ready, image_template, grant_consent, django_capture_on_commit_callbacks, audit_events
):
    """No capture left, a 24-hour result and a kept one two days old: withdrawing output
    storage erases the kept one and keeps the key (the 24-hour result needs it); withdrawing
    face swap then erases the last thing under the key, and the preview says the key goes."""
    api, capture = ready
    with django_capture_on_commit_callbacks(execute=True):
        request_swap(api, capture, image_template)
    grant_consent(alice, "output_storage")
    with django_capture_on_commit_callbacks(execute=True):
        old = request_swap(api, capture, image_template).json()["id"]
    SwapJob.objects.filter(pk=old).update(finished_at=timezone.now() - timedelta(days=2))
    assert api.delete(f"/api/v1/captures/{capture.pk}").status_code == 204

    for purpose, key_goes in (("output_storage", False), ("face_swap", True)):
        preview = api.get(f"{CONSENTS}/{purpose}/withdrawal").json()
        promised = {line["store"]: line["count"] for line in preview["erases"]}
        assert ("biometrics.subject_key" in promised) is key_goes, purpose
        assert api.delete(f"{CONSENTS}/{purpose}").status_code == 200
        events = [data for name, data in audit_events() if name == "CONSENT_WITHDRAWN"]
        assert events[-1]["erased"] == promised, purpose
