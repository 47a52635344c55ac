"""Attack: the record of processing promises that when a depicted person withdraws, "the
template, their document and every result made from it are erased at once"
(``swap.templates``). The template's picture and its poster are that person's face: once they
withdraw through the public page, nothing of their face may stay in storage."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from compliance_site import inventory
from swap.models import SwapTemplate
from tests.swap.jobkit import make_template

pytestmark = pytest.mark.django_db


def test_the_depicted_persons_picture_is_erased_when_they_withdraw():
    template = make_template("image", title="Harbour at dusk")
    picture, poster = template.file.name, template.poster.name
    assert default_storage.exists(picture) and default_storage.exists(poster)
    [store] = [s for s in inventory.service_stores() if s.name == "swap.templates"]
    assert "the template, their document" in store.retention  # what the record promises

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
