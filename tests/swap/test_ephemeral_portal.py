"""The portal's side of swaps without enrolment and share links: ``/swaps/`` offers the swap
without enrolment first to someone with no capture, ``/swaps/once/`` takes a photo and a video
(camera or plain form) and shows the result on ``/swaps/``, whose cards make, show once (with a
copy button) and revoke share links. Both languages."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from biometrics.models import LivenessChallenge
from swap.models import ShareLink, SwapJob
from tests.biometrics.test_capture_gate_first import post

pytestmark = pytest.mark.django_db

PAGE = "/swaps/once/"


@pytest.fixture
def portal(alice):
    client = Client()
    client.force_login(alice)
    return client


def test_someone_without_a_capture_is_offered_the_swap_without_enrolment_first(
    portal, image_template
):
    page = portal.get("/swaps/").content.decode()

    once, enrol = page.index('id="swap-once" href="/swaps/once/"'), page.index('href="/capture/"')
    assert once < enrol
    assert "Swap once, without enrolling" in page


def test_without_its_consent_the_page_says_so_and_links_to_the_consent_centre(
    portal, alice, grant_consent, image_template
):
    grant_consent(alice, "biometric_enrolment")

    response = portal.get(PAGE)

    assert response.status_code == 403
    assert "Your consent is needed first" in response.content.decode()
    assert 'href="/consent/"' in response.content.decode()


@pytest.mark.parametrize("kind", ["well_formed", "huge"])
def test_the_portal_form_without_consent_is_refused_before_a_byte_is_read(alice, policies, kind):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    browser.get("/swaps/")
    token = browser.cookies["csrftoken"].value

    response, body = post(browser, PAGE, kind, HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 403
    assert b"/consent/" in response.content
    assert body.position == 0


def test_the_plain_form_makes_the_swap_and_shows_it_on_the_swaps_page(
    portal, alice, grant_consent, capture_media, image_template, clip_template
):
    grant_consent(alice, "ephemeral_swap")
    page = portal.get(PAGE).content.decode()
    challenge = re.search(r'data-challenge="([0-9a-f-]{36})"', page).group(1)
    steps = LivenessChallenge.objects.get(pk=challenge).steps
    # Pictures only: a clip is made by a worker, which would need the face in a queue.
    assert f'value="{image_template.pk}"' in page and f'value="{clip_template.pk}"' not in page
    assert 'data-capture-url="/api/v1/ephemeral-swaps"' in page

    response = portal.post(
        PAGE,
        {
            "challenge": challenge,
            "template": str(image_template.pk),
            "photo": SimpleUploadedFile("photo.jpg", capture_media.photo),
            "video": SimpleUploadedFile("video.mp4", capture_media.video(steps)),
        },
        follow=True,
    )

    job = SwapJob.objects.get()
    assert job.ephemeral and job.status == SwapJob.Status.DONE
    assert response.redirect_chain == [(f"/swaps/#swap-{job.pk}", 302)]
    html = response.content.decode()
    assert f'id="swap-{job.pk}"' in html
    assert "Made without enrolment: the photo and video were checked and thrown away." in html


def test_the_swaps_page_makes_a_link_shows_it_once_with_a_copy_button_and_revokes_it(
    portal, alice, enrolled, grant_consent, image_template, django_capture_on_commit_callbacks
):
    from tests.erasure.kit import client_for
    from tests.swap.jobkit import request_swap

    [capture] = enrolled(alice)
    grant_consent(alice, "face_swap")
    with django_capture_on_commit_callbacks(execute=True):
        job_id = request_swap(client_for(alice), capture, image_template).json()["id"]

    made = portal.post(f"/swaps/{job_id}/share/", {"hours": "72", "max_views": "5"})

    assert made.status_code == 200 and "no-store" in made["Cache-Control"]
    html = made.content.decode()
    url = re.search(r'class="share-url" type="text" readonly value="([^"]+)"', html).group(1)
    assert re.fullmatch(r"http://testserver/s/[A-Za-z0-9_-]{43}/", url)
    assert f'data-copy="share-url-{job_id}"' in html and "Copy link" in html
    assert "views: 0 of 5" in html
    # Shown once: the next visit lists the link but cannot show its address again.
    again = portal.get("/swaps/").content.decode()
    assert url not in again and "views: 0 of 5" in again
    assert Client().get(url.removeprefix("http://testserver")).status_code == 200
    link = ShareLink.objects.get()
    assert portal.post(f"/swaps/links/{link.pk}/revoke/", follow=True).status_code == 200
    assert not ShareLink.objects.exists()
    assert Client().get(url.removeprefix("http://testserver")).status_code == 404


def test_a_link_longer_than_7_days_is_refused_by_the_form(portal, done_job):
    response = portal.post(f"/swaps/{done_job.pk}/share/", {"hours": "200"}, follow=True)

    assert "Choose how long the link lasts" in response.content.decode()
    assert not ShareLink.objects.exists()


@pytest.fixture
def done_job(alice, enrolled, grant_consent, image_template, django_capture_on_commit_callbacks):
    from tests.erasure.kit import client_for
    from tests.swap.jobkit import request_swap

    [capture] = enrolled(alice)
    grant_consent(alice, "face_swap")
    with django_capture_on_commit_callbacks(execute=True):
        job_id = request_swap(client_for(alice), capture, image_template).json()["id"]
    return SwapJob.objects.get(pk=job_id)


def test_the_viewer_and_the_swap_page_speak_chinese(portal, done_job):
    chinese = {"HTTP_ACCEPT_LANGUAGE": "zh-CN"}
    made = portal.post(f"/swaps/{done_job.pk}/share/", {"hours": "24"}, **chinese)
    url = re.search(r'readonly value="([^"]+)"', made.content.decode()).group(1)

    viewer = Client().get(url.removeprefix("http://testserver"), **chinese).content.decode()
    once = portal.get(PAGE, **chinese)

    assert "复制链接" in made.content.decode()
    assert "AI 生成" in viewer and "下载带标识的文件" in viewer
    assert "一次性换脸" in once.content.decode()
