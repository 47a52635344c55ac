"""The admin: policies published only by the DPO through the service; the ledger read-only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from audit.actions import AuditAction
from audit.models import AuditEvent
from audit.services import pseudonym_for
from consent.ledger.models import ConsentRecord, PolicyVersion, Purpose
from tests.factories import StaffFactory, admin_signed_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("policies")]

PUBLISH = reverse("admin:consent_policyversion_add")
POLICIES = reverse("admin:consent_policyversion_changelist")
RECORDS = reverse("admin:consent_consentrecord_changelist")


@pytest.fixture
def dpo_admin():
    user = StaffFactory()
    user.groups.add(Group.objects.get_or_create(name="dpo")[0])
    return admin_signed_in(user)


def _publish_form(purpose="output_storage", en="Output storage v2\r\n\r\nKept 7 days.\r\n"):
    return {
        "purpose": purpose,
        "text_en": en,
        "text_zh_hans": "结果保存 第二版\r\n\r\n保存 7 天。\r\n",
    }


def test_the_dpo_publishes_a_version_in_both_languages_from_the_admin(dpo_admin, ledger_events):
    form = dpo_admin.get(f"{PUBLISH}?purpose=output_storage")
    assert form.status_code == 200
    assert "Output storage — consent to keep my swap results" in form.content.decode()

    response = dpo_admin.post(PUBLISH, _publish_form())

    policy = PolicyVersion.objects.get(purpose__code="output_storage", version=3)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:consent_policyversion_change", args=[policy.pk])
    assert Purpose.objects.get(code="output_storage").current_version == policy
    texts = dict(policy.texts.values_list("language", "text"))
    assert texts == {
        "en": "Output storage v2\n\nKept 7 days.\n",
        "zh-hans": "结果保存 第二版\n\n保存 7 天。\n",
    }
    assert [(name, purpose) for name, purpose, _d in ledger_events()][-1] == (
        "POLICY_PUBLISHED",
        "output_storage",
    )


def test_a_refused_publish_shows_why_and_writes_nothing(dpo_admin):
    response = dpo_admin.post(PUBLISH, _publish_form(en="\r\nno title"))

    assert response.status_code == 200
    assert "has no title line" in response.content.decode()
    assert PolicyVersion.objects.count() == 7  # as the migrations published them


def test_staff_outside_the_dpo_group_cannot_publish():
    support = StaffFactory()
    support.groups.add(Group.objects.get_or_create(name="support")[0])
    client = admin_signed_in(support)

    assert client.get(PUBLISH).status_code == 403
    assert client.post(PUBLISH, _publish_form()).status_code == 403
    assert PolicyVersion.objects.count() == 7  # as the migrations published them


def test_published_policies_cannot_be_changed_or_deleted_in_the_admin(dpo_admin):
    policy = PolicyVersion.objects.get(purpose__code="face_swap", version=1)
    change = reverse("admin:consent_policyversion_change", args=[policy.pk])
    delete = reverse("admin:consent_policyversion_delete", args=[policy.pk])

    page = dpo_admin.get(change)

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert policy.texts.get(language="en").sha256 in page.content.decode()
    assert dpo_admin.post(change, {"version": 5}).status_code == 403
    assert dpo_admin.post(delete, {"post": "yes"}).status_code == 403
    assert PolicyVersion.objects.get(pk=policy.pk).version == 1
    assert dpo_admin.get(POLICIES).status_code == 200


def test_consent_records_are_read_only_and_opening_one_is_audited(dpo_admin, alice, grant_consent):
    [record] = grant_consent(alice, "face_swap")
    change = reverse("admin:consent_consentrecord_change", args=[record.pk])
    delete = reverse("admin:consent_consentrecord_delete", args=[record.pk])

    page = dpo_admin.get(change)

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert dpo_admin.post(change, {"action": "withdraw"}).status_code == 403
    assert dpo_admin.post(delete, {"post": "yes"}).status_code == 403
    assert dpo_admin.get(RECORDS).status_code == 200
    assert ConsentRecord.objects.get(pk=record.pk).action == "grant"
    viewed = AuditEvent.objects.filter(action=AuditAction.STAFF_VIEWED_SUBJECT)
    assert list(viewed.values_list("subject", flat=True)) == [pseudonym_for(alice)]
