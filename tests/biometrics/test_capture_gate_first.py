"""The consent gate comes before the body: a capture upload without a current biometric
consent is refused 403 with zero body bytes read, whatever the body (empty, huge, malformed),
through the API (token or session) and the portal form. The body is a WSGI input that counts
what the server reads from it."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from biometrics.models import LivenessChallenge
from biometrics.uploads import MEGABYTE
from tests.erasure.kit import BOUNDARY, CAPTURES_URL, LazyBody, client_for, multipart_part

pytestmark = pytest.mark.django_db

MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def _well_formed() -> LazyBody:
    prefix = multipart_part("challenge") + b"00000000-0000-4000-8000-000000000000\r\n"
    prefix += multipart_part("photo", "photo.jpg")
    return LazyBody(prefix, 1024, f"\r\n--{BOUNDARY}--\r\n".encode())


BODIES = {
    "empty": lambda: (LazyBody(b"", 0), MULTIPART, None),
    "huge": lambda: (LazyBody(multipart_part("video", "v.webm"), 100 * MEGABYTE), MULTIPART, None),
    "declared_huge_sent_small": lambda: (LazyBody(b"x" * 10, 0), MULTIPART, 100 * MEGABYTE),
    "malformed_multipart": lambda: (LazyBody(b"--nope\r\n\r\n\x00\xff" * 50, 0), MULTIPART, None),
    "no_boundary": lambda: (LazyBody(b"garbage", 0), "multipart/form-data", None),
    "json": lambda: (LazyBody(b'{"photo": "x"}', 0), "application/json", None),
    "form": lambda: (LazyBody(b"photo=x&video=y", 0), "application/x-www-form-urlencoded", None),
    "bad_content_length": lambda: (LazyBody(b"abc", 0), MULTIPART, "twelve"),
    "well_formed": lambda: (_well_formed(), MULTIPART, None),
}


def post(client, url: str, kind: str, **extra):
    body, content_type, declared = BODIES[kind]()
    length = str(declared if declared is not None else body.total)
    # CONTENT_TYPE in the environ too: Django's test client sets it only with a body of its own.
    environ = {"wsgi.input": body, "CONTENT_LENGTH": length, "CONTENT_TYPE": content_type}
    response = client.generic("POST", url, content_type=content_type, **environ, **extra)
    return response, body


@pytest.fixture
def outdated(alice, grant_consent, staff):
    """Alice consented to a text that has since been replaced."""
    grant_consent(alice, "biometric_enrolment")
    publish_biometric_v2(staff)


def publish_biometric_v2(staff) -> None:
    from consent.ledger.models import PolicyText, Purpose
    from consent.ledger.services import policy_publish

    staff.is_superuser = True
    staff.save(update_fields=["is_superuser"])
    current = Purpose.objects.get(code="biometric_enrolment").current_version
    texts = {t.language: t.text + "\n\nRevised." for t in PolicyText.objects.filter(policy=current)}
    policy_publish(purpose="biometric_enrolment", texts=texts, actor=staff)


@pytest.mark.parametrize("kind", BODIES)
def test_a_capture_without_consent_is_refused_by_the_api_before_a_byte_is_read(
    alice, policies, kind
):
    response, body = post(client_for(alice), CAPTURES_URL, kind)

    assert response.status_code == 403, response.content
    assert response.json()["code"] == "consent_required"
    assert response.json()["purpose"] == "biometric_enrolment"
    assert body.position == 0


@pytest.mark.parametrize("kind", ["empty", "huge", "malformed_multipart", "well_formed"])
def test_a_capture_on_an_outdated_consent_is_refused_before_a_byte_is_read(alice, outdated, kind):
    response, body = post(client_for(alice), CAPTURES_URL, kind)

    assert response.status_code == 403, response.content
    assert response.json()["code"] == "consent_outdated"
    assert body.position == 0


@pytest.mark.parametrize("kind", ["empty", "huge", "malformed_multipart", "well_formed"])
def test_a_session_capture_without_consent_is_refused_before_the_csrf_check_reads_the_body(
    alice, policies, kind
):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    browser.get("/capture/")  # sets the CSRF cookie

    response, body = post(
        browser, CAPTURES_URL, kind, HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value
    )
    without_token, unread = post(browser, CAPTURES_URL, kind)

    assert response.status_code == without_token.status_code == 403
    assert response.json()["code"] == without_token.json()["code"] == "consent_required"
    assert body.position == unread.position == 0


@pytest.mark.parametrize("kind", ["empty", "huge", "malformed_multipart", "well_formed"])
def test_an_anonymous_capture_is_refused_before_a_byte_is_read(db, kind):
    response, body = post(APIClient(), CAPTURES_URL, kind)

    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"
    assert body.position == 0


@pytest.mark.parametrize("kind", BODIES)
def test_the_portal_upload_form_without_consent_is_refused_before_a_byte_is_read(
    alice, policies, kind
):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    browser.get("/capture/")
    token = browser.cookies["csrftoken"].value

    response, body = post(browser, "/capture/", kind, HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 403
    assert b"/consent/" in response.content
    assert body.position == 0
    assert not LivenessChallenge.objects.exists()


def test_with_consent_the_same_body_is_read_and_judged(alice, grant_consent):
    """The control: once consent is current, the body is read (here: no video, so 400)."""
    grant_consent(alice, "biometric_enrolment")

    response, body = post(client_for(alice), CAPTURES_URL, "well_formed")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert body.position == body.total


def test_the_capture_service_refuses_an_outdated_consent_before_it_spends_the_challenge(
    alice, grant_consent, staff
):
    # The endpoints gate first (above); the service gates again itself, for any other caller.
    from biometrics.services import capture_create, liveness_challenge_issue
    from consent.ledger.gate import ConsentOutdated

    grant_consent(alice, "biometric_enrolment")
    challenge = liveness_challenge_issue(subject=alice)
    publish_biometric_v2(staff)

    with pytest.raises(ConsentOutdated):
        capture_create(subject=alice, challenge_id=challenge.pk, photo=b"x", video=b"y")
    assert LivenessChallenge.objects.filter(pk=challenge.pk).exists()
