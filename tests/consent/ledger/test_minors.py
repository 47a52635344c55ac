"""Children under 14 (PIPL Art. 31): only a parent or guardian, verified by SMS, can consent."""

from __future__ import annotations

import json

import pytest
from django.apps import apps

from audit.services import pseudonym_for
from consent.identity.models import User
from consent.ledger.gate import ConsentRequired, require_consent
from consent.ledger.models import ConsentRecord, MinorDeclaration
from tests.consent.conftest import last_code, quote, token_client, wrong

pytestmark = pytest.mark.django_db

CONSENTS = "/api/v1/consents"
DECLARE = "/api/v1/consents/minor-declaration"
GUARDIAN_REQUEST = "/api/v1/consents/guardian/request"
GUARDIAN_GRANT = "/api/v1/consents/guardian/grant"
PARENT = "+447400166666"  # a number with no account yet


@pytest.fixture
def child(alice, policies):
    return alice


@pytest.fixture
def child_api(child):
    client = token_client(child)
    assert client.post(DECLARE).status_code == 201
    return client


def _guardian_grant(client, outbox, purpose="biometric_enrolment", phone=PARENT, code=None):
    ask = {"phone": phone, "purpose": purpose}
    assert client.post(GUARDIAN_REQUEST, ask, format="json").status_code == 202
    body = {**quote(purpose), "phone": phone, "code": code or last_code(outbox)}
    return client.post(GUARDIAN_GRANT, body, format="json")


def _row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def test_the_declaration_keeps_only_the_fact_and_the_day(child, child_api, ledger_events):
    declaration = MinorDeclaration.objects.get(subject=child)

    assert {f.name for f in MinorDeclaration._meta.concrete_fields} == {
        "id",
        "subject",
        "declared_on",
    }
    assert declaration.declared_on is not None
    assert child_api.post(DECLARE).json()["code"] == "already_declared"


@pytest.mark.parametrize("purpose", ["biometric_enrolment", "face_swap", "output_storage"])
def test_a_child_cannot_grant_alone(child_api, purpose):
    before = _row_counts()

    response = child_api.post(CONSENTS, quote(purpose), format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "guardian_required"
    assert _row_counts() == before


def test_a_guardian_verified_by_sms_grants_for_the_child(child, child_api, outbox, ledger_events):
    start = len(ledger_events())

    response = _guardian_grant(child_api, outbox)

    assert response.status_code == 201
    guardian = User.objects.get(phone_number=PARENT)
    record = ConsentRecord.objects.get(subject=child)
    assert record.guardian_pseudonym == pseudonym_for(guardian)
    receipt = response.json()["receipt"]
    assert receipt["guardianPrincipalId"] == pseudonym_for(guardian)
    assert receipt["piiPrincipalId"] == pseudonym_for(child)
    assert "parent or guardian" in receipt["collectionMethod"]
    assert PARENT not in json.dumps(receipt) and PARENT[1:] not in json.dumps(receipt)
    require_consent(subject=child, purpose="biometric_enrolment")
    events = ledger_events()[start:]
    assert [name for name, _purpose, _data in events] == [
        "OTP_REQUESTED",
        "SUBJECT_CREATED",
        "OTP_VERIFIED",
        "CONSENT_GRANTED",
    ]
    assert events[-1][2]["guardian"] == pseudonym_for(guardian)


def test_the_guardian_text_message_says_what_the_code_is_for(child_api, outbox):
    child_api.post(GUARDIAN_REQUEST, {"phone": PARENT, "purpose": "face_swap"}, format="json")

    assert outbox[-1].to == PARENT
    assert "on behalf of your child" in outbox[-1].body


def test_a_wrong_guardian_code_grants_nothing(child, child_api, outbox):
    child_api.post(GUARDIAN_REQUEST, {"phone": PARENT, "purpose": "face_swap"}, format="json")

    body = {**quote("face_swap"), "phone": PARENT, "code": wrong(last_code(outbox))}
    response = child_api.post(GUARDIAN_GRANT, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"
    assert not ConsentRecord.objects.filter(subject=child).exists()
    with pytest.raises(ConsentRequired):
        require_consent(subject=child, purpose="face_swap")


def test_a_wrong_text_quote_is_refused_before_the_code_is_used(child, child_api, outbox):
    child_api.post(GUARDIAN_REQUEST, {"phone": PARENT, "purpose": "face_swap"}, format="json")
    code = last_code(outbox)
    body = {**quote("face_swap"), "sha256": "0" * 64, "phone": PARENT, "code": code}

    refused = child_api.post(GUARDIAN_GRANT, body, format="json")
    granted = child_api.post(GUARDIAN_GRANT, {**body, **quote("face_swap")}, format="json")

    assert refused.status_code == 409
    assert refused.json()["code"] == "policy_mismatch"
    assert granted.status_code == 201


def test_the_child_cannot_act_as_their_own_guardian(child, child_api, outbox):
    body = {"phone": str(child.phone_number), "purpose": "face_swap"}
    response = child_api.post(GUARDIAN_REQUEST, body, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "guardian_is_subject"
    assert outbox == []


def test_a_guardian_who_declared_themselves_under_14_is_refused(child, child_api, bob, outbox):
    token_client(bob).post(DECLARE)

    response = _guardian_grant(child_api, outbox, phone=str(bob.phone_number))

    assert response.status_code == 403
    assert response.json()["code"] == "guardian_is_minor"
    assert not ConsentRecord.objects.filter(subject=child).exists()


def test_an_adult_needs_no_guardian(alice, policies, outbox):
    body = {"phone": PARENT, "purpose": "face_swap"}
    response = token_client(alice).post(GUARDIAN_REQUEST, body, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "guardian_not_needed"
    assert outbox == []


def test_the_child_can_withdraw_what_the_guardian_granted(child, child_api, outbox):
    _guardian_grant(child_api, outbox)

    response = child_api.delete(f"{CONSENTS}/biometric_enrolment")

    assert response.status_code == 200
    with pytest.raises(ConsentRequired):
        require_consent(subject=child, purpose="biometric_enrolment")


def test_declaring_an_age_under_14_withdraws_consents_given_alone_and_erases_their_data(
    alice, policies, erasable_store, ledger_events
):
    held = {alice.pk: 2}
    calls = erasable_store("biometric_enrolment", held)
    client = token_client(alice)
    client.post(CONSENTS, quote("biometric_enrolment"), format="json")
    start = len(ledger_events())

    assert client.post(DECLARE).status_code == 201

    with pytest.raises(ConsentRequired):
        require_consent(subject=alice, purpose="biometric_enrolment")
    assert calls == [alice.pk]
    assert held == {}
    withdrawal = ConsentRecord.objects.filter(subject=alice).latest("id")
    assert withdrawal.action == "withdraw"
    assert withdrawal.reason == "minor_declared"
    events = ledger_events()[start:]
    assert [(name, purpose) for name, purpose, _data in events] == [
        ("MINOR_DECLARED", ""),
        ("CONSENT_WITHDRAWN", "biometric_enrolment"),
    ]
    assert events[1][2]["reason"] == "minor_declared"
    assert events[1][2]["erased"] == {"tests.faces": 2}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"phone": PARENT},
        {"phone": 447400166666, "purpose": "face_swap"},
        {"phone": "not a number", "purpose": "face_swap"},
        {"phone": "+44" + "7" * 100, "purpose": "face_swap"},
        {"phone": PARENT, "purpose": ["face_swap"]},
    ],
)
def test_a_malformed_guardian_request_is_a_400(child_api, outbox, body):
    response = child_api.post(GUARDIAN_REQUEST, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] in ("invalid", "invalid_phone")
    assert outbox == []


@pytest.mark.parametrize(
    "change",
    [
        {"code": "12345"},
        {"code": 123456},
        {"code": "abcdef"},
        {"phone": None},
        {"version": "1"},
        {"sha256": "x" * 64},
    ],
)
def test_a_malformed_guardian_grant_is_a_400_and_writes_nothing(child_api, change):
    body = {**quote("face_swap"), "phone": PARENT, "code": "123456", **change}
    before = _row_counts()

    response = child_api.post(GUARDIAN_GRANT, body, format="json")

    assert response.status_code == 400
    assert _row_counts() == before
