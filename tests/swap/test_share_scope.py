"""Share links respect the depicted person's consent: a result made with a template whose
depicted person did not allow sharing by link (the default) cannot be shared, the portal
says why instead of offering the form, and a link already made stops showing the result
when a newer consent record of theirs no longer allows it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from swap.models import ShareLink, SwapJob
from swap.services import swap_template_consent_record
from tests.swap.jobkit import SIGNED_PDF, depicted_consent, make_template, request_swap
from tests.swap.test_share_links import _share, _token, _view, done  # noqa: F401
from tests.swap.test_templates import admin_client  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_done(ready, django_capture_on_commit_callbacks):
    """Alice's finished swap with a template whose depicted person allowed no sharing."""
    api, capture = ready
    template = make_template("image", title="Private portrait")  # sharing: not allowed
    with django_capture_on_commit_callbacks(execute=True):
        job_id = request_swap(api, capture, template).json()["id"]
    job = SwapJob.objects.get(pk=job_id)
    assert job.status == SwapJob.Status.DONE
    return api, job


def test_a_result_whose_depicted_person_did_not_allow_sharing_cannot_be_shared(alice, private_done):
    api, job = private_done

    refused = _share(api, job)
    chinese = api.post(
        f"/api/v1/swaps/{job.pk}/share-links", {}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    assert refused.status_code == 422, refused.content
    assert refused.json()["code"] == "sharing_not_consented"
    assert "did not agree" in refused.json()["detail"]
    assert chinese.status_code == 422 and "同意" in chinese.json()["detail"]
    assert not ShareLink.objects.exists()
    # The portal offers no form for it and says why, in both languages.
    portal = Client()
    portal.force_login(alice)
    page = portal.get("/swaps/").content.decode()
    assert 'class="share-form"' not in page
    assert "did not agree to results being shared" in page
    made = portal.post(f"/swaps/{job.pk}/share/", {"hours": 24})
    assert made.status_code == 302 and not ShareLink.objects.exists()
    zh = portal.get("/swaps/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "不同意" in zh or "没有同意" in zh


def test_a_link_stops_when_a_newer_consent_of_the_depicted_person_does_not_allow_sharing(
    alice,
    done,  # noqa: F811
    image_template,
):
    api, job = done
    token = _token(_share(api, job).json()["url"])
    assert _view(token).status_code == 200

    swap_template_consent_record(
        template=image_template, consent=depicted_consent(sharing=False), actor=None
    )

    assert _view(token).status_code == 404
    assert _share(api, job).json()["code"] == "sharing_not_consented"


def test_staff_say_whether_sharing_is_allowed_when_they_record_the_consent(
    admin_client,  # noqa: F811
):
    template = make_template(sharing=True)
    ends = timezone.localtime(timezone.now() + timedelta(days=400))

    def record(**ticked):
        return admin_client.post(
            reverse("admin:swap_depictedpersonconsent_add"),
            {
                "template": template.pk,
                "person": "Model release MR-7c",
                "document": SimpleUploadedFile("renewal.pdf", SIGNED_PDF),
                "scope": "Face editing; results shown only to the user who made them.",
                "expires_at_0": ends.strftime("%Y-%m-%d"),
                "expires_at_1": ends.strftime("%H:%M:%S"),
                **ticked,
            },
        )

    assert record().status_code == 201  # not ticked: no sharing (the default)
    template.refresh_from_db()
    assert template.depicted_consent.sharing_allowed is False
    assert record(share_by_link="on").status_code == 201
    template.refresh_from_db()
    assert template.depicted_consent.sharing_allowed is True
    form = admin_client.get(reverse("admin:swap_depictedpersonconsent_add")).content.decode()
    assert (
        'name="share_by_link"' in form
        and "checked" not in form.split('name="share_by_link"')[1][:40]
    )
