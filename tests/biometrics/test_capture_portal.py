"""The portal's capture pages: the camera page (static JS, CSRF-protected API calls with the
session), the no-JavaScript upload form, the list of captures, and the public retention page."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from biometrics.models import Capture, LivenessChallenge
from compliance_site import inventory
from tests.erasure.kit import CAPTURES_URL, CHALLENGE_URL

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(alice, grant_consent):
    """Alice signed in to the portal, with CSRF checks enforced as in a real browser."""
    grant_consent(alice, "biometric_enrolment")
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def _page_challenge(response) -> str:
    match = re.search(r'name="challenge" value="([0-9a-f-]{36})"', response.content.decode())
    assert match, "the form carries the challenge"
    return match.group(1)


def _csrf(client: Client) -> str:
    return client.cookies["csrftoken"].value


def test_the_capture_page_needs_a_signed_in_user():
    response = Client().get("/capture/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_capture_page_asks_for_consent_first(alice, policies):
    client = Client()
    client.force_login(alice)

    response = client.get("/capture/")

    assert response.status_code == 403
    assert b"/consent/" in response.content
    assert not LivenessChallenge.objects.exists()


def test_the_capture_page_shows_the_challenge_with_js_in_a_static_file_only(browser, alice):
    response = browser.get("/capture/")

    html = response.content.decode()
    challenge = LivenessChallenge.objects.get(subject=alice)
    assert response.status_code == 200
    assert _page_challenge(response) == str(challenge.pk)
    assert f'data-challenge="{challenge.pk}"' in html
    assert 'src="/static/biometrics/capture.js"' in html
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # no inline script
    assert 'enctype="multipart/form-data"' in html  # the fallback form
    for step in challenge.steps:
        assert f'data-step="{step["step"]}"' in html
        assert f"{step['start']:.1f}–{step['end']:.1f} s" in html  # the windows, for uploads


def test_visiting_the_capture_page_writes_no_audit_event(browser, audit_events):
    """A render issues a fresh challenge, as every visit must; the log records the challenge
    once it is used, with its steps, not every visit."""
    for _ in range(3):
        assert browser.get("/capture/").status_code == 200

    assert audit_events() == []


def test_the_upload_form_enrols_a_face_without_javascript(browser, alice, capture_media):
    page = browser.get("/capture/")
    challenge = LivenessChallenge.objects.get(pk=_page_challenge(page))

    response = browser.post(
        "/capture/",
        {
            "csrfmiddlewaretoken": _csrf(browser),
            "challenge": str(challenge.pk),
            "photo": SimpleUploadedFile("me.jpg", capture_media.photo),
            "video": SimpleUploadedFile("me.mp4", capture_media.video(challenge.steps)),
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/captures/"
    assert Capture.objects.filter(subject=alice).count() == 1


def test_the_upload_form_is_refused_without_its_csrf_token(browser, capture_media):
    challenge = _page_challenge(browser.get("/capture/"))

    response = browser.post(
        "/capture/",
        {"challenge": challenge, "photo": SimpleUploadedFile("me.jpg", capture_media.photo)},
    )

    assert response.status_code == 403
    assert LivenessChallenge.objects.filter(pk=challenge).exists()  # not spent


def test_a_refused_upload_shows_why_with_a_new_challenge(browser, alice, capture_media):
    first = _page_challenge(browser.get("/capture/"))

    response = browser.post(
        "/capture/",
        {
            "csrfmiddlewaretoken": _csrf(browser),
            "challenge": first,
            "photo": SimpleUploadedFile("me.gif", b"GIF89a not accepted"),
            "video": SimpleUploadedFile("me.mp4", capture_media.replay()),
        },
    )

    assert response.status_code == 422
    assert "JPEG, PNG or WebP" in response.content.decode()
    assert _page_challenge(response) != first
    assert not Capture.objects.exists()


def test_an_oversized_upload_form_is_refused_with_413(browser):
    first = _page_challenge(browser.get("/capture/"))

    response = browser.post(
        "/capture/",
        {
            "csrfmiddlewaretoken": _csrf(browser),
            "challenge": first,
            "photo": SimpleUploadedFile("me.jpg", b"\xff\xd8\xff" + b"\0" * (11 * 1024 * 1024)),
            "video": SimpleUploadedFile("me.mp4", b"\0" * 1024),
        },
    )

    assert response.status_code == 413
    assert "over 10 MB" in response.content.decode()


def test_the_camera_script_calls_the_api_with_the_session_and_csrf_token(browser, alice):
    browser.get("/capture/")
    api_challenge = browser.get(CHALLENGE_URL).json()  # GET: no CSRF token needed
    files = {
        "challenge": api_challenge["id"],
        "photo": SimpleUploadedFile("photo.jpg", b"not a photo"),
        "video": SimpleUploadedFile("video.webm", b"not a video"),
    }

    without = browser.post(CAPTURES_URL, files)
    files["photo"].seek(0), files["video"].seek(0)
    with_token = browser.post(CAPTURES_URL, files, HTTP_X_CSRFTOKEN=_csrf(browser))

    assert without.status_code == 403
    assert without.json()["code"] == "permission_denied"  # CSRF, before the challenge is spent
    assert with_token.status_code == 422
    assert with_token.json()["code"] == "unsupported_image"


def test_the_captures_page_lists_expiry_and_deletes_after_a_check_page(browser, alice, enrolled):
    [capture] = enrolled(alice)

    page = browser.get("/captures/")
    check = browser.get(f"/captures/{capture.pk}/delete/")
    asked = Capture.objects.exists()
    deleted = browser.post(
        f"/captures/{capture.pk}/delete/", {"csrfmiddlewaretoken": _csrf(browser)}
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert f'href="/captures/{capture.pk}/delete/"' in html  # a link to the check, no button
    assert f'action="/captures/{capture.pk}/delete/"' not in html
    assert "Erased automatically on" in html
    assert capture.last_used_at.replace(year=capture.last_used_at.year + 1).strftime("%Y") in html
    shown = check.content.decode()
    assert check.status_code == 200 and "Check before you delete" in shown
    assert "photo" in shown and "face template" in shown
    assert f'action="/captures/{capture.pk}/delete/"' in shown
    assert asked  # the check deletes nothing
    assert deleted.status_code == 302
    assert not Capture.objects.exists()


def test_the_delete_check_of_someone_elses_capture_is_not_found(browser, bob, enrolled):
    [capture] = enrolled(bob)

    assert browser.get(f"/captures/{capture.pk}/delete/").status_code == 404
    assert Capture.objects.filter(pk=capture.pk).exists()


def test_the_retention_schedule_is_public_and_lists_every_store(client):
    response = client.get("/retention/")

    html = response.content.decode()
    assert response.status_code == 200
    for store in inventory.stores():
        assert f'id="store-{store.name.replace(".", "")}"' in html
    assert "365 days after it was last used" in html
