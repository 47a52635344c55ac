"""Attack: the record of processing promised that when a depicted person withdraws, the
template and every result made from it are erased at once (``swap.templates``), but the
template's picture and its poster, that person's face, stayed in storage. Once they withdraw
through the public page, nothing of their face may stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from compliance_site import inventory
from swap.models import DepictedPersonConsent, SwapTemplate
from tests.swap.jobkit import SIGNED_PDF, make_template
from tests.swap.test_templates import admin_client  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_depicted_persons_picture_is_erased_when_they_withdraw():
    template = make_template("image", title="Harbour at dusk")
    picture, poster = template.file.name, template.poster.name
    assert default_storage.exists(picture) and default_storage.exists(poster)
    [store] = [s for s in inventory.service_stores() if s.name == "swap.templates"]
    assert "the template's picture" in store.retention  # what the record promises

    response = Client().post(
        "/depicted/withdraw/",
        {"secret": template.depicted_consent.withdrawal_secret, "confirm": "on"},
    )

    assert response.status_code == 200
    assert "Your consent is withdrawn" in response.content.decode()
    assert not default_storage.exists(picture), "the depicted person's face is still stored"
    assert not default_storage.exists(poster), "a still of the depicted person is still stored"
    row = SwapTemplate.objects.filter(pk=template.pk).first()
    assert row is None or not (row.file.name or row.poster.name)


def test_a_template_whose_picture_was_erased_takes_no_new_consent(admin_client, _media_root):  # noqa: F811
    """The picture is gone: a renewed consent would make a template with nothing to swap into.
    The admin refuses it with a form error (nothing recorded), not a crash."""
    template = make_template("image")
    Client().post(
        "/depicted/withdraw/",
        {"secret": template.depicted_consent.withdrawal_secret, "confirm": "on"},
    )
    ends = timezone.localtime(timezone.now() + timedelta(days=400))

    renewal = admin_client.post(
        reverse("admin:swap_depictedpersonconsent_add"),
        {
            "template": template.pk,
            "person": "Model release MR-7b",
            "document": SimpleUploadedFile("renewal.pdf", SIGNED_PDF),
            "scope": "Same as before.",
            "expires_at_0": ends.strftime("%Y-%m-%d"),
            "expires_at_1": ends.strftime("%H:%M:%S"),
        },
    )

    assert renewal.status_code == 400
    assert "picture was erased when the person in it withdrew" in renewal.content.decode()
    assert DepictedPersonConsent.objects.filter(template=template).count() == 1
