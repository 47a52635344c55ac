"""Impact assessments (PIPL Arts. 55–56; GDPR Art. 35): recorded and signed by the DPO in the
admin, published immutable, required before a purpose's policy is published, kept at least
three years after a later version supersedes them, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from audit.services import retention_sweep
from compliance_site.errors import ApplicationError, Conflict, Forbidden
from consent.ledger.models import ImpactAssessment, Purpose
from consent.ledger.selectors import assessment_current, assessments_record
from consent.ledger.services import AssessmentFacts, assessment_publish, policy_publish
from tests.conftest import assessment_seed
from tests.consent.conftest import quote
from tests.factories import StaffFactory, admin_signed_in

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/consent/impactassessment/add/"
CONSENTS = "/api/v1/consents"
V3 = {
    "en": "Face swap (v3) — consent to use my face template\n\nNew text.\n",
    "zh-hans": "换脸（第三版）——同意使用我的人脸模板\n\n新文本。\n",
}


@pytest.fixture
def dpo(db):
    user = StaffFactory()
    user.groups.add(Group.objects.get_or_create(name="dpo")[0])
    return user


def _facts(**changes) -> AssessmentFacts:
    values = {
        "scope": "Face photos and embeddings of users who consent, processed in the EU region.",
        "necessity": "Explicit consent; a swap needs the face; nothing else is kept.",
        "risks": "Misuse of a face; re-identification from an embedding.",
        "measures": "Encryption under a per-person key; erasure at withdrawal; labels.",
        "residual_risk": ImpactAssessment.Risk.LOW,
        "decision": ImpactAssessment.Decision.PROCEED,
        "review_on": timezone.localdate() + timedelta(days=365),
        "signer": "Jane Doe, Data Protection Officer",
    }
    return AssessmentFacts(**{**values, **changes})


def _form(purpose: str = "face_swap", **changes) -> dict:
    facts = _facts(**changes)
    return {"purpose": Purpose.objects.get(code=purpose).pk, **facts.__dict__}


def test_the_dpo_publishes_an_assessment_in_the_admin_and_it_is_audited(
    policies, dpo, audit_events
):
    client = admin_signed_in(dpo)

    response = client.post(ADD_URL, _form())

    assert response.status_code == 302, response.content.decode()[-2000:]
    latest = Purpose.objects.get(code="face_swap").assessments.order_by("-version").first()
    assert latest.version == 2 and latest.signer == "Jane Doe, Data Protection Officer"
    assert assessment_current(latest.purpose) == latest
    (event,) = [data for name, data in audit_events() if name == "ASSESSMENT_PUBLISHED"]
    assert event["version"] == 2 and event["sha256"] == latest.sha256
    page = client.get(f"/admin/consent/impactassessment/{latest.pk}/change/").content.decode()
    assert "Misuse of a face" in page and 'name="scope"' not in page  # shown, not editable


def test_a_review_date_in_the_past_is_a_form_error_not_a_publication(policies, dpo):
    before = ImpactAssessment.objects.count()
    past = timezone.localdate() - timedelta(days=1)

    response = admin_signed_in(dpo).post(ADD_URL, _form(review_on=past))

    assert response.status_code == 200 and "review date must be in the future" in (
        response.content.decode()
    )
    assert ImpactAssessment.objects.count() == before


def test_only_the_dpo_can_publish_an_assessment(policies):
    support = StaffFactory()
    support.groups.add(Group.objects.get_or_create(name="support")[0])

    assert admin_signed_in(support).post(ADD_URL, _form()).status_code == 403
    with pytest.raises(Forbidden):
        assessment_publish(purpose="face_swap", facts=_facts(), actor=support)


@pytest.mark.parametrize("why", ["none", "do not proceed", "review overdue"])
def test_a_policy_cannot_be_published_without_a_current_assessment(
    policies, dpo, time_machine, why
):
    purpose = Purpose.objects.get(code="face_swap")
    if why == "none":
        purpose = Purpose.objects.create(
            code="new_purpose", retention_days=1, retention_rule="after_creation"
        )
    elif why == "do not proceed":
        assessment_seed(purpose, decision=ImpactAssessment.Decision.STOP)
    else:
        time_machine.move_to(timezone.now() + timedelta(days=366))

    with pytest.raises(Conflict) as refused:
        policy_publish(purpose=purpose.code, texts=V3, actor=dpo)

    assert refused.value.code == "assessment_required"
    assert not purpose.versions.filter(version=3).exists()


def test_with_a_current_assessment_the_policy_is_published(policies, dpo):
    assessment_publish(purpose="face_swap", facts=_facts(), actor=dpo)

    assert policy_publish(purpose="face_swap", texts=V3, actor=dpo).version == 3


def test_a_published_assessment_cannot_be_changed(policies):
    assessment = ImpactAssessment.objects.first()

    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        ImpactAssessment.objects.filter(pk=assessment.pk).update(decision="stop")
    assessment.refresh_from_db()
    assert assessment.decision == "proceed"


def test_a_superseded_assessment_is_kept_three_years_later_and_no_one_can_delete_it(
    policies, dpo, time_machine
):
    first = Purpose.objects.get(code="face_swap").assessments.get(version=1)
    assessment_publish(purpose="face_swap", facts=_facts(), actor=dpo)
    time_machine.move_to(timezone.now() + timedelta(days=3 * 366 + 1))

    retention_sweep()

    assert ImpactAssessment.objects.filter(pk=first.pk).exists()
    record = [r for r in assessments_record() if r["purpose"] == "face_swap"]
    assert [(r["version"], r["superseded_at"] is not None) for r in record] == [
        (1, True),
        (2, False),
    ]
    page = admin_signed_in(dpo).get(f"/admin/consent/impactassessment/{first.pk}/delete/")
    assert page.status_code in (403, 302)
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic():
            ImpactAssessment.objects.filter(pk=first.pk).delete()


def test_an_assessment_missing_a_part_is_refused(policies, dpo):
    with pytest.raises(ApplicationError) as refused:
        assessment_publish(purpose="face_swap", facts=_facts(risks="  "), actor=dpo)
    assert refused.value.code == "invalid_assessment"


@pytest.mark.parametrize("why", ["do not proceed", "review overdue"])
def test_no_one_can_consent_to_a_purpose_without_a_current_assessment(
    policies, alice, alice_api, why
):
    """PIPL Art. 55: the assessment comes before the processing, and processing starts with a
    consent. A text shipped by a migration is published without the DPO's step, so the gate of
    consent itself asks for a current assessment: without one, nothing is recorded."""
    purpose = Purpose.objects.get(code="biometric_enrolment")
    if why == "do not proceed":
        assessment_seed(purpose, decision=ImpactAssessment.Decision.STOP)
    else:  # its review date passed yesterday
        assessment_seed(purpose, review_in_days=-1)

    refused = alice_api.post(CONSENTS, quote("biometric_enrolment"), format="json")

    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "assessment_required"
    assert not alice.consent_records.exists()
    # With a current assessment again, the same quote is taken.
    assessment_seed(purpose)
    granted = alice_api.post(CONSENTS, quote("biometric_enrolment"), format="json")
    assert granted.status_code == 201, granted.content
