from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from consent.identity.models import ApiToken, SmsDevice, User
from tests.consent.conftest import NEW_NUMBER, last_code, request_code, verify_code, wrong

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    """A frozen clock the test moves by hand (back-off is measured in real seconds)."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def test_only_an_hmac_of_the_code_is_stored(api, outbox):
    request_code(api, NEW_NUMBER)
    code = last_code(outbox)

    device = SmsDevice.objects.get()
    assert device.user is None
    assert len(device.token) == 64
    assert code not in device.token
    assert device.token == device.code_digest(code)
    assert NEW_NUMBER not in device.phone_digest


def test_a_wrong_code_is_refused_and_the_next_try_must_wait(api, outbox, clock, audit_log):
    request_code(api, NEW_NUMBER)
    code = last_code(outbox)

    first = verify_code(api, NEW_NUMBER, wrong(code))
    assert first.status_code == 400
    assert first.json()["code"] == "invalid_code"

    # Back-off: 1 s after the first failure, even for the right code.
    blocked = verify_code(api, NEW_NUMBER, code)
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "rate_limited"
    assert blocked["Retry-After"] == "1"

    clock.shift(1.5)
    second = verify_code(api, NEW_NUMBER, wrong(code))
    assert second.status_code == 400
    blocked = verify_code(api, NEW_NUMBER, code)
    assert blocked.status_code == 429
    assert blocked["Retry-After"] == "2"  # doubles after each failure

    clock.shift(2.5)
    assert verify_code(api, NEW_NUMBER, code).status_code == 200
    assert audit_log(with_data=True) == [
        ("OTP_REQUESTED", {"valid_seconds": 300}),
        ("OTP_FAILED", {"reason": "wrong_code", "failures": 1}),
        ("OTP_FAILED", {"reason": "backing_off"}),
        ("OTP_FAILED", {"reason": "wrong_code", "failures": 2}),
        ("OTP_FAILED", {"reason": "backing_off"}),
        ("SUBJECT_CREATED", {}),
        ("OTP_VERIFIED", {}),
        ("LOGIN", {"channel": "api"}),
    ]


def _six_wrong_codes(api, code, clock) -> list[str]:
    answers = []
    for failures in range(6):
        answers.append(verify_code(api, NEW_NUMBER, wrong(code)).json()["code"])
        clock.shift(2**failures + 0.1)  # just past the back-off: 1, 2, 4, 8, 16, 32 s
    return answers


def test_the_correct_code_is_refused_after_six_wrong_ones(api, outbox, clock, audit_log):
    request_code(api, NEW_NUMBER)
    code = last_code(outbox)

    answers = _six_wrong_codes(api, code, clock)
    refused = verify_code(api, NEW_NUMBER, code)  # 63 s later: the code has not expired

    assert answers == ["invalid_code"] * 5 + ["locked_out"]
    assert refused.status_code == 400
    assert refused.json()["code"] == "locked_out"
    assert not User.objects.exists()
    assert not ApiToken.objects.exists()
    assert audit_log(with_data=True)[-3:] == [
        ("OTP_FAILED", {"reason": "wrong_code", "failures": 6}),
        ("OTP_LOCKED_OUT", {"failures": 6}),
        ("OTP_FAILED", {"reason": "locked_out"}),
    ]


def test_a_new_code_lifts_the_lock_out(api, outbox, clock):
    request_code(api, NEW_NUMBER)
    assert _six_wrong_codes(api, last_code(outbox), clock)[-1] == "locked_out"

    request_code(api, NEW_NUMBER)

    assert verify_code(api, NEW_NUMBER, last_code(outbox)).status_code == 200


def test_a_used_code_is_refused(api, outbox, clock, audit_log):
    request_code(api, NEW_NUMBER)
    code = last_code(outbox)
    assert verify_code(api, NEW_NUMBER, code).status_code == 200

    again = verify_code(api, NEW_NUMBER, code)

    assert again.status_code == 400
    assert again.json()["code"] == "invalid_code"
    assert ApiToken.objects.count() == 1
    assert audit_log(with_data=True)[-1] == ("OTP_FAILED", {"reason": "no_code", "failures": 1})


def test_an_expired_code_is_refused(api, outbox, settings, audit_log):
    request_code(api, NEW_NUMBER)
    code = last_code(outbox)

    later = timezone.now() + timedelta(seconds=settings.OTP_SMS_CODE_VALIDITY + 1)
    with time_machine.travel(later, tick=False):
        response = verify_code(api, NEW_NUMBER, code)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"
    assert not User.objects.exists()
    assert audit_log(with_data=True)[-1] == ("OTP_FAILED", {"reason": "expired", "failures": 1})


def test_a_code_still_works_just_before_it_expires(api, outbox, settings):
    request_code(api, NEW_NUMBER)

    later = timezone.now() + timedelta(seconds=settings.OTP_SMS_CODE_VALIDITY - 5)
    with time_machine.travel(later, tick=False):
        assert verify_code(api, NEW_NUMBER, last_code(outbox)).status_code == 200


def test_a_new_code_replaces_the_previous_one(api, outbox, clock):
    request_code(api, NEW_NUMBER)
    first = last_code(outbox)
    request_code(api, NEW_NUMBER)
    second = last_code(outbox)
    if first == second:
        pytest.skip("both random codes were equal (one chance in a million)")

    assert verify_code(api, NEW_NUMBER, first).status_code == 400
    clock.shift(2)
    assert verify_code(api, NEW_NUMBER, second).status_code == 200


def test_a_code_for_one_number_does_not_sign_in_another(api, outbox, alice, audit_log):
    request_code(api, NEW_NUMBER)

    response = verify_code(api, str(alice.phone_number), last_code(outbox))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"
    # Counted like any wrong code: every number has a failure counter (no enumeration).
    assert audit_log(with_data=True)[-1] == ("OTP_FAILED", {"reason": "no_code", "failures": 1})


def test_a_number_that_never_asked_for_a_code_gets_the_same_refusal_as_a_wrong_code(api, outbox):
    request_code(api, NEW_NUMBER)
    wrong_answer = verify_code(api, NEW_NUMBER, wrong(last_code(outbox)))

    never_asked = verify_code(api, "+447400166666", "123456")

    assert never_asked.status_code == wrong_answer.status_code == 400
    assert never_asked.content == wrong_answer.content
