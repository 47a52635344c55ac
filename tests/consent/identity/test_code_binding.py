"""Every one-time code is bound to what it was sent for: signing in, or one guardian grant for
one child and one set of purposes. Used for anything else it fails exactly like a wrong code
(the same answer, a counted failure with its back-off, an audited reason), and the text
message says what the code is for."""

from __future__ import annotations

import pytest
import time_machine
from django.utils import timezone

from consent.identity.models import ApiToken, SmsDevice
from consent.ledger.models import ConsentRecord
from tests.consent.conftest import last_code, quote, request_code, token_client, verify_code, wrong

pytestmark = pytest.mark.django_db

DECLARE = "/api/v1/consents/minor-declaration"
GUARDIAN_REQUEST = "/api/v1/consents/guardian/request"
GUARDIAN_GRANT = "/api/v1/consents/guardian/grant"
EXPORT = "/api/v1/me/export.json"


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def parent(bob):
    """The guardian has an account of their own (and so an export to steal)."""
    return bob


@pytest.fixture
def child_api(alice, policies):
    client = token_client(alice)
    assert client.post(DECLARE).status_code == 201
    return client


@pytest.fixture
def other_child_api(policies):
    from tests.factories import UserFactory

    client = token_client(UserFactory(phone_number="+447400100003"))
    assert client.post(DECLARE).status_code == 201
    return client


def _ask_guardian(client, outbox, parent, purpose="face_swap", *more: str) -> str:
    body = {"phone": str(parent.phone_number), "purposes": [purpose, *more]}
    assert client.post(GUARDIAN_REQUEST, body, format="json").status_code == 202
    return last_code(outbox)


def _grant(client, parent, code, purpose="face_swap", *more: str):
    body = {
        "phone": str(parent.phone_number),
        "code": code,
        "relationship": "parent",
        "consents": [quote(p) for p in (purpose, *more)],
    }
    return client.post(GUARDIAN_GRANT, body, format="json")


def _same_as_a_wrong_code(response, wrong_answer) -> None:
    assert response.status_code == wrong_answer.status_code == 400
    assert response.content == wrong_answer.content
    assert response.json()["code"] == "invalid_code"


def test_a_guardian_code_does_not_sign_the_guardian_in(
    child_api, parent, outbox, api, clock, audit_log
):
    code = _ask_guardian(child_api, outbox, parent)
    wrong_answer = verify_code(api, "+447400155555", "123456")

    response = verify_code(api, str(parent.phone_number), code)

    _same_as_a_wrong_code(response, wrong_answer)
    assert not ApiToken.objects.filter(user=parent).exists()
    assert audit_log(with_data=True)[-1] == ("OTP_FAILED", {"reason": "other_use", "failures": 1})
    # It counted as a wrong code: the next try must wait, as after any wrong code.
    assert verify_code(api, str(parent.phone_number), code).status_code == 429
    # And the guardian can still use it for what it was sent for.
    clock.shift(2)
    assert _grant(child_api, parent, code).status_code == 201


def test_a_stolen_guardian_code_does_not_open_the_guardians_export(child_api, parent, outbox, api):
    code = _ask_guardian(child_api, outbox, parent)

    response = verify_code(api, str(parent.phone_number), code)

    assert "token" not in response.json()
    assert api.get(EXPORT).status_code == 401


def test_a_sign_in_code_does_not_pass_a_guardian_grant(child_api, alice, parent, outbox, api):
    request_code(api, str(parent.phone_number))
    sign_in_code = last_code(outbox)
    wrong_answer = _grant(child_api, parent, wrong(sign_in_code))

    with time_machine.travel(timezone.now(), tick=False) as clock:
        clock.shift(5)
        response = _grant(child_api, parent, sign_in_code)

    _same_as_a_wrong_code(response, wrong_answer)
    assert not ConsentRecord.objects.filter(subject=alice).exists()


def test_a_guardian_code_for_one_child_does_not_grant_for_another(
    child_api, other_child_api, parent, outbox, audit_log
):
    code = _ask_guardian(child_api, outbox, parent)

    response = _grant(other_child_api, parent, code)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"
    assert not ConsentRecord.objects.exists()
    assert audit_log(with_data=True)[-1] == ("OTP_FAILED", {"reason": "other_use", "failures": 1})


def test_a_guardian_code_for_one_purpose_does_not_grant_another(
    child_api, alice, parent, outbox, clock
):
    code = _ask_guardian(child_api, outbox, parent, purpose="face_swap")

    response = _grant(child_api, parent, code, purpose="biometric_enrolment")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"
    assert not ConsentRecord.objects.filter(subject=alice).exists()
    clock.shift(2)
    assert _grant(child_api, parent, code, purpose="face_swap").status_code == 201


def test_a_guardian_code_for_one_purpose_does_not_grant_a_larger_set(
    child_api, alice, parent, outbox, clock, audit_log
):
    code = _ask_guardian(child_api, outbox, parent, "face_swap")

    response = _grant(child_api, parent, code, "face_swap", "biometric_enrolment")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"
    assert audit_log(with_data=True)[-1] == ("OTP_FAILED", {"reason": "other_use", "failures": 1})
    assert not ConsentRecord.objects.filter(subject=alice).exists()


def test_a_guardian_code_for_two_purposes_does_not_grant_one_of_them(
    child_api, alice, parent, outbox, clock
):
    code = _ask_guardian(child_api, outbox, parent, "face_swap", "biometric_enrolment")

    response = _grant(child_api, parent, code, "face_swap")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"
    assert not ConsentRecord.objects.filter(subject=alice).exists()
    clock.shift(2)
    # The same set in another order is the same set.
    both = _grant(child_api, parent, code, "biometric_enrolment", "face_swap")
    assert both.status_code == 201
    assert ConsentRecord.objects.filter(subject=alice).count() == 2


def test_the_binding_is_stored_with_the_code_as_a_keyed_digest(child_api, parent, outbox, api):
    bindings = []
    for purpose in ("face_swap", "biometric_enrolment"):
        _ask_guardian(child_api, outbox, parent, purpose=purpose)
        bindings.append(SmsDevice.objects.get().binding)
    request_code(api, str(parent.phone_number))
    bindings.append(SmsDevice.objects.get().binding)

    assert all(len(b) == 64 and set(b) <= set("0123456789abcdef") for b in bindings)
    assert len(set(bindings)) == 3
    assert not any("face_swap" in b or "sign_in" in b for b in bindings)


def test_the_guardian_request_names_the_purpose(child_api, parent, outbox):
    response = child_api.post(GUARDIAN_REQUEST, {"phone": str(parent.phone_number)}, format="json")
    unknown = child_api.post(
        GUARDIAN_REQUEST, {"phone": str(parent.phone_number), "purposes": ["nope"]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_purpose"
    assert outbox == []


@pytest.mark.parametrize(
    ("language", "sign_in", "guardian"),
    [
        ("en", "to sign in", "on behalf of your child"),
        ("zh-hans", "登录", "代表孩子"),
    ],
)
def test_each_text_message_says_what_its_code_is_for(
    child_api, parent, outbox, api, language, sign_in, guardian
):
    request_code(api, "+447400155555", HTTP_ACCEPT_LANGUAGE=language)
    body = {"phone": str(parent.phone_number), "purposes": ["face_swap"]}
    child_api.post(GUARDIAN_REQUEST, body, format="json", HTTP_ACCEPT_LANGUAGE=language)

    sign_in_text, guardian_text = (message.body for message in outbox)
    assert sign_in in sign_in_text and guardian not in sign_in_text
    assert guardian in guardian_text and sign_in not in guardian_text


def test_the_guardian_text_names_the_purpose_in_the_parents_language(child_api, parent, outbox):
    from consent.ledger.models import PolicyText, Purpose

    current = Purpose.objects.get(code="face_swap").current_version
    body = {"phone": str(parent.phone_number), "purposes": ["face_swap"]}
    for language in ("en", "zh-hans"):
        child_api.post(GUARDIAN_REQUEST, body, format="json", HTTP_ACCEPT_LANGUAGE=language)
        title = PolicyText.objects.get(policy=current, language=language).title
        assert title in outbox[-1].body
