"""Grant, withdraw and list consents through the API; every record audited, bad input refused."""

from __future__ import annotations

import json

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from audit.services import pseudonym_for
from consent.ledger.gate import ConsentRequired, require_consent
from consent.ledger.models import ConsentRecord
from consent.ledger.services import policy_publish
from tests.consent.conftest import quote
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

CONSENTS = "/api/v1/consents"
UA = "FaceledgerApp/1.0 (test)"


def _row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@pytest.fixture
def unchanged(policies):
    """Asserts after the test that no table (the audit log included) gained or lost a row."""
    before = _row_counts()
    yield
    assert _row_counts() == before


def _grant(client, purpose: str, overrides: dict | None = None, **extra):
    body = {**quote(purpose), **(overrides or {})}
    return client.post(CONSENTS, body, format="json", HTTP_USER_AGENT=UA, **extra)


def test_a_grant_returns_201_with_a_receipt_and_opens_the_gate(alice_api, alice):
    response = _grant(alice_api, "biometric_enrolment")

    assert response.status_code == 201
    receipt = response.json()["receipt"]
    assert receipt["action"] == "grant"
    assert receipt["purposeCode"] == "biometric_enrolment"
    assert receipt["policyVersion"] == 2
    assert receipt["policySha256"] == quote("biometric_enrolment")["sha256"]
    require_consent(subject=alice, purpose="biometric_enrolment")


def test_a_grant_is_recorded_with_its_evidence_and_audited_in_the_same_transaction(
    alice_api, alice, ledger_events
):
    response = _grant(alice_api, "face_swap")

    record = ConsentRecord.objects.get()
    assert record.subject == alice
    assert record.action == "grant"
    assert record.method == "api"
    assert record.language == "en"
    assert record.text_sha256 == quote("face_swap")["sha256"]
    assert record.ip_network == "127.0.0.0/24"
    assert len(record.user_agent_sha256) == 64
    assert UA not in record.user_agent_sha256
    assert json.loads(record.receipt) == response.json()["receipt"]
    assert ledger_events() == [
        (
            "CONSENT_GRANTED",
            "face_swap",
            {
                "version": 2,
                "language": "en",
                "sha256": quote("face_swap")["sha256"],
                "method": "api",
                "receipt": str(record.receipt_id),
            },
        )
    ]


def test_an_ipv6_client_is_kept_as_its_48_network(alice_api):
    _grant(alice_api, "face_swap", REMOTE_ADDR="2001:db8:abcd:12:34::5")

    assert ConsentRecord.objects.get().ip_network == "2001:db8:abcd::/48"


def test_a_grant_quoting_the_chinese_text_is_recorded_in_chinese(alice_api):
    response = alice_api.post(CONSENTS, quote("face_swap", "zh-hans"), format="json")

    assert response.status_code == 201
    assert ConsentRecord.objects.get().language == "zh-hans"
    assert response.json()["receipt"]["language"] == "zh-hans"


def test_withdrawal_returns_200_with_a_receipt_and_closes_the_gate(alice_api, alice, ledger_events):
    _grant(alice_api, "biometric_enrolment")

    response = alice_api.delete(f"{CONSENTS}/biometric_enrolment")

    assert response.status_code == 200
    receipt = response.json()["receipt"]
    assert receipt["action"] == "withdraw"
    assert receipt["policyVersion"] == 2
    with pytest.raises(ConsentRequired):
        require_consent(subject=alice, purpose="biometric_enrolment")
    names = [(name, purpose) for name, purpose, _data in ledger_events()]
    assert names == [
        ("CONSENT_GRANTED", "biometric_enrolment"),
        ("CONSENT_WITHDRAWN", "biometric_enrolment"),
    ]
    assert set(ledger_events()[1][2]["erased"].values()) <= {0}  # nothing was held


def test_withdrawal_erases_through_every_store_registered_for_the_purpose(
    alice_api, alice, bob, erasable_store, ledger_events
):
    held = {alice.pk: 3, bob.pk: 2}
    calls = erasable_store("biometric_enrolment", held)
    other_calls = erasable_store("output_storage", {alice.pk: 1}, name="tests.results")
    _grant(alice_api, "biometric_enrolment")

    alice_api.delete(f"{CONSENTS}/biometric_enrolment")

    assert calls == [alice.pk]
    assert other_calls == []
    assert held == {bob.pk: 2}
    withdrawn = ledger_events()[-1]
    assert withdrawn[0] == "CONSENT_WITHDRAWN"
    assert withdrawn[2]["erased"] == {"tests.faces": 3}


def test_withdrawing_what_was_never_granted_is_a_409_and_writes_nothing(alice_api, unchanged):
    response = alice_api.delete(f"{CONSENTS}/face_swap")

    assert response.status_code == 409
    assert response.json()["code"] == "not_granted"


def test_withdrawing_twice_is_refused_the_second_time(alice_api):
    _grant(alice_api, "face_swap")
    assert alice_api.delete(f"{CONSENTS}/face_swap").status_code == 200

    again = alice_api.delete(f"{CONSENTS}/face_swap")

    assert again.status_code == 409
    assert again.json()["code"] == "not_granted"
    assert ConsentRecord.objects.count() == 2


def test_granting_a_current_consent_again_is_a_409(alice_api):
    _grant(alice_api, "face_swap")

    again = _grant(alice_api, "face_swap")

    assert again.status_code == 409
    assert again.json()["code"] == "already_granted"
    assert ConsentRecord.objects.count() == 1


def test_the_consent_list_shows_every_purpose_and_its_state(alice_api):
    _grant(alice_api, "biometric_enrolment")
    _grant(alice_api, "face_swap")
    alice_api.delete(f"{CONSENTS}/face_swap")

    rows = {row["purpose"]: row for row in alice_api.get(CONSENTS).json()}

    assert list(rows) == ["biometric_enrolment", "face_swap", "output_storage", "ephemeral_swap"]
    assert rows["biometric_enrolment"]["state"] == "granted"
    assert rows["biometric_enrolment"]["version"] == 2
    assert rows["biometric_enrolment"]["updated_at"]
    assert rows["face_swap"]["state"] == "withdrawn"
    assert rows["output_storage"] == {
        "purpose": "output_storage",
        "state": "never",
        "version": None,
        "updated_at": None,
        "by_guardian": False,
    }


@pytest.mark.parametrize(
    "override",
    [{"sha256": "0" * 64}, {"version": 3}],
    ids=["wrong-sha256", "future-version"],
)
def test_a_grant_quoting_a_text_we_did_not_publish_is_a_409_and_writes_nothing(
    alice_api, unchanged, override
):
    response = _grant(alice_api, "biometric_enrolment", override)

    assert response.status_code == 409
    assert response.json()["code"] == "policy_mismatch"
    assert response.json()["version"] == 2


def test_a_grant_quoting_another_purposes_text_is_a_409(alice_api, unchanged):
    response = _grant(alice_api, "face_swap", {"sha256": quote("biometric_enrolment")["sha256"]})

    assert response.status_code == 409
    assert response.json()["code"] == "policy_mismatch"


def test_a_grant_quoting_a_replaced_version_is_a_409_and_writes_nothing(alice_api, policies):
    old = quote("face_swap")
    texts = {"en": "Face swap v3\n\nNew.\n", "zh-hans": "换脸 第三版\n\n新。\n"}
    policy_publish(purpose="face_swap", texts=texts, actor=StaffFactory(is_superuser=True))
    before = _row_counts()

    response = alice_api.post(CONSENTS, old, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "policy_mismatch"
    assert response.json()["version"] == 3
    assert _row_counts() == before
    assert _grant(alice_api, "face_swap").status_code == 201


def test_an_unknown_purpose_is_a_404_for_grant_and_withdrawal(alice_api, unchanged):
    grant = alice_api.post(
        CONSENTS,
        {"purpose": "marketing", "version": 1, "sha256": "a" * 64},
        format="json",
    )
    withdraw = alice_api.delete(f"{CONSENTS}/marketing")

    assert grant.status_code == 404
    assert grant.json()["code"] == "unknown_purpose"
    assert withdraw.status_code == 404
    assert withdraw.json()["code"] == "unknown_purpose"


GOOD = {"purpose": "face_swap", "version": 1, "sha256": "a" * 64}
BAD_BODIES = [
    {},
    {"purpose": "face_swap"},
    {"purpose": "face_swap", "version": 1},
    {**GOOD, "version": "1"},
    {**GOOD, "version": 1.0},
    {**GOOD, "version": True},
    {**GOOD, "version": None},
    {**GOOD, "version": 0},
    {**GOOD, "version": 2**40},
    {**GOOD, "purpose": 7},
    {**GOOD, "purpose": ["face_swap"]},
    {**GOOD, "purpose": "x" * 10_000},
    {**GOOD, "sha256": "A" * 64},
    {**GOOD, "sha256": "a" * 63},
    {**GOOD, "sha256": 5},
    [],
    [GOOD],
    "face_swap",
    None,
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=lambda b: json.dumps(b)[:40])
def test_a_malformed_grant_is_a_400_with_a_code_and_writes_nothing(alice_api, unchanged, body):
    response = alice_api.post(CONSENTS, json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    # A body that is not a JSON object is refused by the parser, before any field is looked at.
    expected = "invalid" if isinstance(body, dict) else "malformed_request"
    assert response.json()["code"] == expected


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"purpose=face_swap&version=1", "application/x-www-form-urlencoded"),
        (b"\xff\xfe", "application/json"),
    ],
)
def test_a_grant_that_is_not_json_is_a_4xx_and_writes_nothing(
    alice_api, unchanged, payload, content_type
):
    response = alice_api.generic("POST", CONSENTS, payload, content_type=content_type)

    assert response.status_code in (400, 415)
    assert response.json()["code"] in ("malformed_request", "unsupported_media_type")


def test_strangers_cannot_grant_withdraw_or_list(policies, unchanged):
    client = APIClient()

    assert client.post(CONSENTS, quote("face_swap"), format="json").status_code == 401
    assert client.delete(f"{CONSENTS}/face_swap").status_code == 401
    assert client.get(CONSENTS).status_code == 401


def test_no_address_or_user_agent_enters_the_audit_log(alice_api, alice, ledger_events):
    _grant(alice_api, "face_swap", REMOTE_ADDR="203.0.113.77")
    alice_api.delete(f"{CONSENTS}/face_swap", REMOTE_ADDR="203.0.113.77")

    dumped = json.dumps(ledger_events())
    assert "203.0.113" not in dumped
    assert "FaceledgerApp" not in dumped
    assert str(alice.phone_number) not in dumped
    assert ConsentRecord.objects.filter(ip_network="203.0.113.0/24").count() == 2


def test_records_name_the_subject_by_pseudonym_on_the_receipt(alice_api, alice):
    receipt = _grant(alice_api, "face_swap").json()["receipt"]

    assert receipt["piiPrincipalId"] == pseudonym_for(alice)
    assert str(alice.phone_number) not in json.dumps(receipt)
