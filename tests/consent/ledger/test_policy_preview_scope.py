"""The DPO confirms a policy preview as shown: the texts, the version replaced and the impact
assessment it names. A publish under an assessment the preview did not show is stale."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from consent.ledger.models import ImpactAssessment, PolicyVersion
from consent.ledger.services import AssessmentFacts, assessment_publish
from tests.factories import StaffFactory, admin_signed_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("policies")]

PUBLISH = reverse("admin:consent_policyversion_add")
FORM = {
    "purpose": "output_storage",
    "text_en": "Output storage v2\r\n\r\nKept 7 days.\r\n",
    "text_zh_hans": "结果保存 第二版\r\n\r\n保存 7 天。\r\n",
}


def _dpo():
    user = StaffFactory()
    user.groups.add(Group.objects.get_or_create(name="dpo")[0])
    return user


def test_a_preview_that_named_another_assessment_does_not_publish():
    dpo = _dpo()
    client = admin_signed_in(dpo)
    preview = client.post(PUBLISH, FORM)
    [signed] = re.findall(r'name="preview" value="([^"]+)"', preview.content.decode())
    published = PolicyVersion.objects.filter(purpose__code="output_storage").count()

    # Meanwhile a new assessment: high residual risk, only with conditions.
    assessment_publish(
        purpose="output_storage",
        facts=AssessmentFacts(
            scope="Swap results kept for their owner.",
            necessity="The owner asked to keep them.",
            risks="A result of a face shown to others.",
            measures="Encryption; expiry; labels.",
            residual_risk=ImpactAssessment.Risk.HIGH,
            decision=ImpactAssessment.Decision.CONDITIONS,
            review_on=timezone.localdate() + timedelta(days=30),
            signer="Another Officer",
        ),
        actor=_dpo(),
    )
    response = client.post(PUBLISH, {**FORM, "preview": signed, "_publish": "1"})

    assert PolicyVersion.objects.filter(purpose__code="output_storage").count() == published
    assert response.status_code == 200 and "changed since the preview" in response.content.decode()
