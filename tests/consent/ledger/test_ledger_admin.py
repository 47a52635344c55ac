"""The admin: policies published only by the DPO through the service; the ledger read-only."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from audit.actions import AuditAction
from audit.models import AuditEvent
from audit.services import pseudonym_for
from consent.ledger.models import ConsentRecord, PolicyVersion, Purpose
from tests.factories import StaffFactory, UserFactory, admin_signed_in

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

    response = _confirm(dpo_admin, dpo_admin.post(PUBLISH, _publish_form()))

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


def _confirm(client, preview, form=None):
    """Press "Publish" on a preview page: its hidden fields, as the browser sends them."""
    page = preview.content.decode()
    assert preview.status_code == 200 and 'name="_publish"' in page
    [signed] = re.findall(r'name="preview" value="([^"]+)"', page)
    return client.post(PUBLISH, {**(form or _publish_form()), "preview": signed, "_publish": "1"})


def _diff(page, language):
    """The diff of one language, without the words that only screen readers read."""
    shown = page.split(f'data-language="{language}">')[1].split("</div>")[0]
    return re.sub(r'<span class="visually-hidden">[^<]*</span>', "", shown)


def _published(purpose="output_storage"):
    return AuditEvent.objects.filter(action=AuditAction.POLICY_PUBLISHED, purpose=purpose)


def test_publishing_shows_first_a_preview_with_the_diff_and_who_will_be_asked_again(
    dpo_admin, alice, bob, grant_consent
):
    carol = UserFactory(phone_number="+447400100003")
    grant_consent(carol, "output_storage")  # then outdated by a publish: not counted
    previous = _confirm(dpo_admin, dpo_admin.post(PUBLISH, _publish_form()))
    assert previous.status_code == 302
    grant_consent(alice, "output_storage")
    grant_consent(bob, "output_storage")
    published = _published().count()

    form = _publish_form(en="Output storage v3\r\n\r\nKept 30 days.\r\n")
    form["text_zh_hans"] = "结果保存 第三版\r\n\r\n保存 30 天。\r\n"
    preview = dpo_admin.post(PUBLISH, form)

    page = preview.content.decode()
    assert preview.status_code == 200
    assert re.search(r'id="policy-holders">2<', page)  # alice and bob, not carol
    assert "2 people hold consent to version 3" in page
    english, chinese = _diff(page, "en"), _diff(page, "zh-hans")
    assert "Kept <del>7</del><ins>30</ins> days." in english  # one word, not the line
    assert "第<del>二</del><ins>三</ins>版" in chinese  # Chinese: character by character
    assert page.count('<span class="visually-hidden">[removed: </span>') == 4  # not by colour
    assessment = Purpose.objects.get(code="output_storage").assessments.latest("version")
    assert reverse("admin:consent_impactassessment_change", args=[assessment.pk]) in page
    assert "Publish version 4" in page
    assert PolicyVersion.objects.filter(purpose__code="output_storage").count() == 3
    assert _published().count() == published  # nothing published by the preview


def test_a_version_is_published_once_only_when_its_preview_is_confirmed(dpo_admin):
    preview = dpo_admin.post(PUBLISH, _publish_form())
    assert _published().count() == 0

    response = _confirm(dpo_admin, preview)

    assert response.status_code == 302
    assert PolicyVersion.objects.filter(purpose__code="output_storage").count() == 3
    assert _published().count() == 1
    again = _confirm(dpo_admin, preview)  # the same preview pressed twice
    assert again.status_code == 200 and "already published" in again.content.decode()
    assert _published().count() == 1


@pytest.mark.parametrize("signed", [None, "", "forged", "WzEsICJhYmMiXQ:1:bad"])
def test_a_publish_posted_without_its_preview_shows_the_preview_and_publishes_nothing(
    dpo_admin, signed
):
    form = {**_publish_form(), "_publish": "1"}
    if signed is not None:
        form["preview"] = signed

    response = dpo_admin.post(PUBLISH, form)

    assert response.status_code == 200
    assert 'name="_publish"' in response.content.decode()  # the preview, to confirm
    assert PolicyVersion.objects.filter(purpose__code="output_storage").count() == 2
    assert _published().count() == 0


def test_a_preview_signed_for_another_dpo_does_not_publish(dpo_admin):
    other = StaffFactory()
    other.groups.add(Group.objects.get_or_create(name="dpo")[0])
    other_admin = admin_signed_in(other)
    preview = other_admin.post(PUBLISH, _publish_form())

    response = _confirm(dpo_admin, preview)

    assert response.status_code == 200
    assert _published().count() == 0


def test_a_preview_gone_stale_is_shown_again_and_publishes_nothing(dpo_admin):
    preview = dpo_admin.post(PUBLISH, _publish_form())
    changed = _publish_form(en="Output storage v2\r\n\r\nKept 9 days.\r\n")

    response = _confirm(dpo_admin, preview, changed)  # texts edited after the preview

    assert response.status_code == 200
    assert "changed since the preview" in response.content.decode()
    assert _published().count() == 0
    assert _confirm(dpo_admin, response, changed).status_code == 302  # the new preview
    assert _published().count() == 1


def test_changing_the_texts_from_the_preview_goes_back_to_the_form_with_them(dpo_admin):
    response = dpo_admin.post(PUBLISH, {**_publish_form(), "_edit": "1"})

    page = response.content.decode()
    assert response.status_code == 200 and 'name="_preview"' in page
    assert "Kept 7 days." in page
    assert _published().count() == 0


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
