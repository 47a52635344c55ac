"""The consent gate (invariant "gate", docs/ARCHITECTURE.md): refuses without a current grant, in
one query."""

from __future__ import annotations

import pytest
from django.db import transaction

from compliance_site.api import exception_handler
from compliance_site.errors import Forbidden
from consent.identity.models import User
from consent.ledger.gate import ConsentOutdated, ConsentRequired, require_consent
from consent.ledger.models import ConsentRecord
from consent.ledger.selectors import ClientEvidence
from consent.ledger.services import consent_withdraw, policy_publish
from tests.factories import StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("policies")]

PORTAL = ClientEvidence(method=ConsentRecord.Method.PORTAL)


def _publish_v2(purpose: str) -> None:
    dpo = StaffFactory(is_superuser=True)
    texts = {
        "en": f"{purpose} v2\n\nThe new English text.\n",
        "zh-hans": f"{purpose} 第二版\n\n新的中文文本。\n",
    }
    policy_publish(purpose=purpose, texts=texts, actor=dpo)


def test_the_gate_refuses_a_subject_who_never_consented(alice):
    with pytest.raises(ConsentRequired) as refused:
        require_consent(subject=alice, purpose="biometric_enrolment")

    assert refused.value.code == "consent_required"
    assert refused.value.purpose == "biometric_enrolment"
    assert isinstance(refused.value, Forbidden)


def test_the_gate_passes_after_a_grant_and_refuses_after_its_withdrawal(alice, grant_consent):
    grant_consent(alice, "biometric_enrolment")
    require_consent(subject=alice, purpose="biometric_enrolment")

    consent_withdraw(subject=alice, purpose="biometric_enrolment", evidence=PORTAL)

    with pytest.raises(ConsentRequired) as refused:
        require_consent(subject=alice, purpose="biometric_enrolment")
    assert refused.value.code == "consent_required"


def test_a_grant_covers_only_its_own_purpose_and_its_own_subject(alice, bob, grant_consent):
    grant_consent(alice, "biometric_enrolment")

    with pytest.raises(ConsentRequired):
        require_consent(subject=alice, purpose="face_swap")
    with pytest.raises(ConsentRequired):
        require_consent(subject=bob, purpose="biometric_enrolment")


def test_a_new_policy_version_outdates_the_grant_until_the_subject_consents_again(
    alice, grant_consent
):
    grant_consent(alice, "face_swap")
    _publish_v2("face_swap")

    with pytest.raises(ConsentOutdated) as refused:
        require_consent(subject=alice, purpose="face_swap")
    assert refused.value.code == "consent_outdated"
    assert isinstance(refused.value, ConsentRequired)

    grant_consent(alice, "face_swap")  # the current (v2) text
    require_consent(subject=alice, purpose="face_swap")


def test_publishing_one_purpose_leaves_grants_of_the_others_current(alice, grant_consent):
    grant_consent(alice, "biometric_enrolment", "face_swap")
    _publish_v2("face_swap")

    require_consent(subject=alice, purpose="biometric_enrolment")


def test_the_gate_accepts_a_subject_id_as_tasks_hold_ids(alice, grant_consent):
    grant_consent(alice, "output_storage")

    require_consent(subject=alice.pk, purpose="output_storage")
    with pytest.raises(ConsentRequired):
        require_consent(subject=alice.pk + 1000, purpose="output_storage")


def test_the_gate_is_one_query_whether_it_passes_or_refuses(
    alice, grant_consent, django_assert_num_queries
):
    grant_consent(alice, "biometric_enrolment")
    consent_withdraw(subject=alice, purpose="biometric_enrolment", evidence=PORTAL)
    grant_consent(alice, "biometric_enrolment")
    grant_consent(alice, "face_swap")
    _publish_v2("face_swap")

    with django_assert_num_queries(1):
        require_consent(subject=alice, purpose="biometric_enrolment")
    with django_assert_num_queries(1), pytest.raises(ConsentOutdated):
        require_consent(subject=alice, purpose="face_swap")


def test_an_unknown_purpose_is_a_programming_error_not_a_refusal(alice):
    with pytest.raises(ValueError, match="unknown consent purpose"):
        require_consent(subject=alice, purpose="marketing")


def test_a_locking_check_gives_the_same_answers(alice, grant_consent):
    grant_consent(alice, "biometric_enrolment")

    with transaction.atomic():
        require_consent(subject=alice, purpose="biometric_enrolment", lock=True)
        with pytest.raises(ConsentRequired):
            require_consent(subject=alice, purpose="face_swap", lock=True)


def test_the_api_answers_a_refusal_with_403_and_the_purpose():
    response = exception_handler(ConsentRequired("face_swap"), {})

    assert response.status_code == 403
    assert response.data["code"] == "consent_required"
    assert response.data["purpose"] == "face_swap"
    assert response.data["detail"]


def test_the_api_says_when_consent_is_outdated():
    response = exception_handler(ConsentOutdated("biometric_enrolment"), {})

    assert response.status_code == 403
    assert response.data["code"] == "consent_outdated"
    assert response.data["purpose"] == "biometric_enrolment"


def test_a_deleted_subject_has_no_consent(alice, grant_consent):
    grant_consent(alice, "biometric_enrolment")
    subject_id = alice.pk
    User.objects.filter(pk=subject_id).delete()

    with pytest.raises(ConsentRequired):
        require_consent(subject=subject_id, purpose="biometric_enrolment")
