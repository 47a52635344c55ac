"""Children under 14 (PIPL Art. 31): only a parent or guardian, verified by SMS, can consent."""

from __future__ import annotations

import json

import phonenumbers
import pytest
from django.apps import apps

from audit.services import pseudonym_for
from consent.ledger.gate import ConsentRequired, require_consent
from consent.ledger.models import AgeStatement, ConsentRecord, MinorDeclaration
from consent.ledger.services import guardian_pseudonym
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


def _ask(client, phone=PARENT, *purposes: str):
    body = {"phone": phone, "purposes": list(purposes or ["biometric_enrolment"])}
    return client.post(GUARDIAN_REQUEST, body, format="json")


def _grant_body(code, *purposes: str, phone=PARENT, relationship="parent") -> dict:
    return {
        "phone": phone,
        "code": code,
        "relationship": relationship,
        "consents": [quote(p) for p in purposes or ["biometric_enrolment"]],
    }


def _guardian_grant(client, outbox, purpose="biometric_enrolment", phone=PARENT, code=None):
    assert _ask(client, phone, purpose).status_code == 202
    body = _grant_body(code or last_code(outbox), purpose, phone=phone)
    return client.post(GUARDIAN_GRANT, body, format="json")


def _row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def test_the_correction_keeps_only_the_fact_and_the_day(child, child_api, ledger_events):
    declaration = MinorDeclaration.objects.get(subject=child)

    assert {f.name for f in MinorDeclaration._meta.concrete_fields} == {
        "id",
        "subject",
        "declared_on",
        "birth_year",  # given only at the age step, and only by a child
    }
    assert declaration.declared_on is not None
    assert declaration.birth_year is None
    assert not AgeStatement.objects.filter(subject=child).exists()  # replaced by the correction
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
    record = ConsentRecord.objects.get(subject=child)
    assert record.guardian_pseudonym == guardian_pseudonym(phonenumbers.parse(PARENT))
    assert record.guardian_relationship == "parent"
    (receipt,) = response.json()["receipts"]
    assert receipt["guardianPrincipalId"] == record.guardian_pseudonym
    assert receipt["guardianRelationship"] == "parent"
    assert receipt["piiPrincipalId"] == pseudonym_for(child)
    assert "parent or guardian" in receipt["collectionMethod"]
    assert "stated relationship: parent" in receipt["collectionMethod"]
    assert PARENT not in json.dumps(receipt) and PARENT[1:] not in json.dumps(receipt)
    require_consent(subject=child, purpose="biometric_enrolment")
    events = ledger_events()[start:]
    assert [name for name, _purpose, _data in events] == [
        "OTP_REQUESTED",
        "OTP_VERIFIED",
        "CONSENT_GRANTED",
    ]
    assert events[1][2] == {"use": "guardian_grant"}
    assert events[-1][2]["guardian"] == record.guardian_pseudonym
    assert events[-1][2]["relationship"] == "parent"


def test_the_guardian_text_message_says_what_the_code_is_for(child_api, outbox):
    _ask(child_api, PARENT, "face_swap")

    assert outbox[-1].to == PARENT
    assert "on behalf of your child" in outbox[-1].body


def test_a_guardians_number_typed_the_national_way_is_read_in_its_region(child_api, outbox):
    body = {"phone": "13800138000", "region": "cn", "purposes": ["face_swap"]}

    assert child_api.post(GUARDIAN_REQUEST, body, format="json").status_code == 202
    assert outbox[-1].to == "+8613800138000"
    refused = child_api.post(GUARDIAN_REQUEST, {**body, "region": "ZZ"}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_region"
    national_alone = child_api.post(GUARDIAN_REQUEST, {**body, "region": ""}, format="json")
    assert national_alone.status_code == 400


def test_a_wrong_guardian_code_grants_nothing(child, child_api, outbox):
    _ask(child_api, PARENT, "face_swap")

    body = _grant_body(wrong(last_code(outbox)), "face_swap")
    response = child_api.post(GUARDIAN_GRANT, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"
    assert not ConsentRecord.objects.filter(subject=child).exists()
    with pytest.raises(ConsentRequired):
        require_consent(subject=child, purpose="face_swap")


def test_a_wrong_text_quote_is_refused_before_the_code_is_used(child, child_api, outbox):
    _ask(child_api, PARENT, "face_swap")
    body = _grant_body(last_code(outbox), "face_swap")
    stale = {**body, "consents": [{**quote("face_swap"), "sha256": "0" * 64}]}

    refused = child_api.post(GUARDIAN_GRANT, stale, format="json")
    granted = child_api.post(GUARDIAN_GRANT, body, format="json")

    assert refused.status_code == 409
    assert refused.json()["code"] == "policy_mismatch"
    assert granted.status_code == 201


def test_the_child_cannot_act_as_their_own_guardian(child, child_api, outbox):
    response = _ask(child_api, str(child.phone_number), "face_swap")

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
    response = _ask(token_client(alice), PARENT, "face_swap")

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
        {"phone": PARENT, "purposes": []},
        {"phone": PARENT, "purposes": "face_swap"},
        {"phone": PARENT, "purposes": ["face_swap", "face_swap"]},
        {"phone": PARENT, "purposes": [["face_swap"]]},
        {"phone": 447400166666, "purposes": ["face_swap"]},
        {"phone": "not a number", "purposes": ["face_swap"]},
        {"phone": "+44" + "7" * 100, "purposes": ["face_swap"]},
    ],
)
def test_a_malformed_guardian_request_is_a_400(child_api, outbox, body):
    response = child_api.post(GUARDIAN_REQUEST, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] in ("invalid", "invalid_phone", "invalid_purposes")
    assert outbox == []


@pytest.mark.parametrize(
    "change",
    [
        {"code": "12345"},
        {"code": 123456},
        {"code": "abcdef"},
        {"phone": None},
        {"relationship": "uncle"},
        {"relationship": None},
        {"consents": []},
        {"consents": {"purpose": "face_swap"}},
        # Quotes are built in the test (they read the database).
        {"consents": [("face_swap", {"version": "1"})]},
        {"consents": [("face_swap", {"sha256": "x" * 64})]},
        {"consents": [("face_swap", {}), ("face_swap", {})]},
    ],
)
def test_a_malformed_guardian_grant_is_a_400_and_writes_nothing(child_api, change):
    consents = change.get("consents")
    if isinstance(consents, list) and consents and isinstance(consents[0], tuple):
        change = {"consents": [{**quote(p), **edit} for p, edit in consents]}
    body = {**_grant_body("123456", "face_swap"), **change}
    before = _row_counts()

    response = child_api.post(GUARDIAN_GRANT, body, format="json")

    assert response.status_code == 400
    assert _row_counts() == before
