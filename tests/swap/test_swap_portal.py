"""The portal's ``/swaps/`` page: pick a capture and a template, watch the progress (a static
script polling the API, no inline script), see and download the labelled result, delete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from swap.models import SwapJob
from tests.swap.jobkit import make_template

pytestmark = pytest.mark.django_db

PAGE = "/swaps/"


@pytest.fixture
def portal(alice):
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def enrolled_capture(alice, enrolled, grant_consent):
    [capture] = enrolled(alice)
    grant_consent(alice, "face_swap")
    return capture


def test_the_page_needs_a_signed_in_user():
    response = Client().get(PAGE)

    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_page_offers_the_callers_captures_and_the_usable_templates(portal, enrolled_capture):
    template = make_template(title="Harbour at dusk")

    page = portal.get(PAGE).content.decode()

    assert f'name="capture" value="{enrolled_capture.pk}"' in page
    assert f'name="template" value="{template.pk}"' in page
    assert "Harbour at dusk" in page and f"/api/v1/templates/{template.pk}/poster" in page
    assert "kept for 24 hours" in page


def test_without_face_swap_consent_the_page_says_so_and_links_to_the_consent_centre(
    alice, portal, enrolled
):
    enrolled(alice)
    make_template()

    page = portal.get(PAGE).content.decode()

    assert "Face swaps need your consent" in page
    assert 'href="/consent/?next=/swaps/#purpose-face_swap"' in page  # its card, and back
    assert re.search(r'<button type="submit" class="button" disabled>', page)


def test_the_page_has_no_inline_script_and_loads_its_static_script(portal, enrolled_capture):
    make_template()

    page = portal.get(PAGE).content.decode()

    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, re.DOTALL)
    assert scripts and all(body.strip() == "" for body in scripts)
    assert '<script src="/static/swap/swaps.js" defer></script>' in page
    assert re.search(r"\son[a-z]+=", page) is None  # no inline event handlers either
    script = Path(finders.find("swap/swaps.js")).read_text()
    assert "/api/v1/" not in script  # it polls the URL each card names (data-job-url)
    assert "data-job-url" in script and "progress" in script


def test_a_swap_asked_for_in_the_portal_shows_its_progress_then_its_labelled_result(
    portal, enrolled_capture, django_capture_on_commit_callbacks
):
    template = make_template()

    with django_capture_on_commit_callbacks() as queued:
        response = portal.post(
            PAGE, {"capture": str(enrolled_capture.pk), "template": str(template.pk)}
        )
    job = SwapJob.objects.get()
    waiting = portal.get(PAGE).content.decode()
    for task in queued:
        task()
    done = portal.get(PAGE).content.decode()

    assert response.status_code == 302 and response["Location"] == f"{PAGE}#swap-{job.pk}"
    assert f'data-job-url="/api/v1/swaps/{job.pk}"' in waiting
    assert 'data-status="pending"' in waiting and "<progress" in waiting
    result = f"/api/v1/swaps/{job.pk}/result"
    assert f'<img src="{result}?disposition=inline"' in done
    assert f'href="{result}" download' in done
    assert "AI-generated" in done and "Erased automatically on" in done
    # The mark is above the result, where no player control covers it.
    assert done.index('class="ai-badge"') < done.index(f'<img src="{result}?disposition=inline"')
    portal.cookies["django_language"] = "zh-hans"
    chinese = portal.get(PAGE).content.decode()
    assert '<p class="ai-badge">AI 生成 · <span lang="en">AI-generated</span></p>' in chinese
    # The portal session can fetch what the page points at.
    shown = portal.get(f"{result}?disposition=inline")
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert portal.get(f"/api/v1/swaps/{job.pk}").json()["status"] == "done"


def test_after_make_the_swap_the_page_opens_at_its_progress(portal, enrolled_capture, monkeypatch):
    """On a phone the new swap's progress bar is far below the form: the redirect lands on it,
    and the card comes first in the list."""
    monkeypatch.setattr("compliance_site.jobs._send", lambda kind, pk: None)  # stays waiting
    template = make_template()

    response = portal.post(
        PAGE, {"capture": str(enrolled_capture.pk), "template": str(template.pk)}
    )

    job = SwapJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/swaps/#swap-{job.pk}"
    page = portal.get(PAGE).content.decode()
    assert page.index(f'id="swap-{job.pk}"') < page.index('id="new-title"')


def test_a_refused_request_shows_the_reason_on_the_page(portal, enrolled_capture):
    template = make_template()

    response = portal.post(PAGE, {"capture": "not-mine", "template": str(template.pk)})

    assert response.status_code == 404
    assert "There is no such capture." in response.content.decode()
    assert not SwapJob.objects.exists()


def test_a_request_without_a_choice_is_a_form_error(portal, enrolled_capture):
    make_template()

    response = portal.post(PAGE, {})

    assert response.status_code == 400
    assert "Choose one of your captures." in response.content.decode()


def test_deleting_from_the_portal_removes_the_swap(
    portal, enrolled_capture, django_capture_on_commit_callbacks
):
    template = make_template()
    with django_capture_on_commit_callbacks(execute=True):
        portal.post(PAGE, {"capture": str(enrolled_capture.pk), "template": str(template.pk)})
    job = SwapJob.objects.get()

    response = portal.post(f"/swaps/{job.pk}/delete/")

    assert response.status_code == 302 and not SwapJob.objects.exists()
    assert "The swap and its result are deleted." in portal.get(PAGE).content.decode()


def test_delete_asks_first_on_a_page_naming_the_swap_and_what_goes(
    portal, enrolled_capture, django_capture_on_commit_callbacks
):
    template = make_template(title="Harbour at dusk")
    with django_capture_on_commit_callbacks(execute=True):
        portal.post(PAGE, {"capture": str(enrolled_capture.pk), "template": str(template.pk)})
    job = SwapJob.objects.get()

    listing = portal.get(PAGE).content.decode()
    check = portal.get(f"/swaps/{job.pk}/delete/")

    # The list links to the check; no button on it deletes in one tap.
    assert f'href="/swaps/{job.pk}/delete/"' in listing
    assert f'action="/swaps/{job.pk}/delete/"' not in listing
    html = check.content.decode()
    assert check.status_code == 200 and "Check before you delete" in html
    assert "Harbour at dusk" in html and "cannot be downloaded again" in html
    assert f'action="/swaps/{job.pk}/delete/"' in html and 'href="/swaps/#swap-' in html
    assert SwapJob.objects.filter(pk=job.pk).exists()  # asking deleted nothing


def test_the_delete_check_of_someone_elses_swap_is_not_found(bob, portal, enrolled, grant_consent):
    from swap.services import swap_job_request

    [capture] = enrolled(bob)
    grant_consent(bob, "face_swap")
    job = swap_job_request(subject=bob, capture_id=capture.pk, template_id=make_template().pk)

    assert portal.get(f"/swaps/{job.pk}/delete/").status_code == 404


def test_deleting_someone_elses_swap_from_the_portal_changes_nothing(
    bob, portal, enrolled, grant_consent, django_capture_on_commit_callbacks
):
    from swap.services import swap_job_request

    [capture] = enrolled(bob)
    grant_consent(bob, "face_swap")
    job = swap_job_request(subject=bob, capture_id=capture.pk, template_id=make_template().pk)

    response = portal.post(f"/swaps/{job.pk}/delete/")

    assert response.status_code == 302
    assert SwapJob.objects.filter(pk=job.pk).exists()
    assert "There is no such swap." in portal.get(PAGE).content.decode()


def test_every_string_on_the_page_goes_through_gettext():
    from django.conf import settings

    source = (Path(settings.BASE_DIR) / "templates/swap/swaps.html").read_text()
    text = re.sub(r"{% blocktranslate.*?{% endblocktranslate %}", " ", source, flags=re.DOTALL)
    text = re.sub(r"{%.*?%}|{{.*?}}", " ", text, flags=re.DOTALL)
    text = re.sub(r"<[^>]*>", " ", text, flags=re.DOTALL)

    assert re.findall(r"[A-Za-z]{2,}", text) == []
