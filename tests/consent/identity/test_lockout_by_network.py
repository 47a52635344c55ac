"""An attacker's wrong codes and code requests, from their network, cost the real owner on
another network nothing: back-off, lock-out and the send limit count per number AND client
network; a separate cap per number counts every network; and the wrong codes a number may get
in a day are capped, from each network and from all together, which bounds guessing."""

from __future__ import annotations

import pytest
import time_machine
from django.utils import timezone

from consent.identity.models import CodeAttempts
from consent.identity.services import identity_prune
from tests.consent.conftest import last_code, request_code, verify_code, wrong

pytestmark = pytest.mark.django_db

ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
OWNER = {"REMOTE_ADDR": "198.51.100.23"}


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def _six_wrong_codes(api, phone: str, guess: str, clock, address: dict) -> list[str]:
    """Wrong codes from ``address``, each just after the back-off (1, 2, 4, 8, 16 s) ended."""
    answers = []
    for failures in range(6):
        answers.append(verify_code(api, phone, guess, **address).json()["code"])
        clock.shift(2**failures + 0.1)
    return answers


def test_an_attacker_on_one_network_cannot_lock_the_owner_out(api, outbox, alice, clock):
    """The attacker's sequence as reported: the owner then gets a code and signs in."""
    phone = str(alice.phone_number)
    assert request_code(api, phone, **OWNER).status_code == 202  # the owner's own code
    sends = [request_code(api, phone, **ATTACKER).status_code for _ in range(2)]
    guess = wrong(last_code(outbox))

    answers = _six_wrong_codes(api, phone, guess, clock, ATTACKER)
    asked = request_code(api, phone, **OWNER)
    signed_in = verify_code(api, phone, last_code(outbox), **OWNER)

    assert sends == [202, 202]
    assert answers == ["invalid_code"] * 5 + ["locked_out"]
    assert asked.status_code == 202, asked.content
    assert signed_in.status_code == 200, signed_in.content
    assert "token" in signed_in.json()


def test_the_owner_needs_no_new_code_when_the_attacker_only_locked_themselves_out(
    api, outbox, alice, clock
):
    phone = str(alice.phone_number)
    request_code(api, phone, **OWNER)
    code = last_code(outbox)

    assert _six_wrong_codes(api, phone, wrong(code), clock, ATTACKER)[-1] == "locked_out"
    assert verify_code(api, phone, code, **ATTACKER).json()["code"] == "locked_out"

    assert verify_code(api, phone, code, **OWNER).status_code == 200


def test_an_attacker_network_that_used_up_its_sends_leaves_the_owner_theirs(api, outbox, alice):
    phone = str(alice.phone_number)
    attacker = [request_code(api, phone, **ATTACKER).status_code for _ in range(4)]

    owner = [request_code(api, phone, **OWNER).status_code for _ in range(3)]

    assert attacker == [202, 202, 202, 429]
    assert owner == [202, 202, 202]


def test_every_network_together_gets_at_most_the_numbers_total_of_codes(
    api, outbox, alice, settings
):
    settings.OTP_SEND_LIMIT_PER_NUMBER_TOTAL = 5
    phone = str(alice.phone_number)
    answers = [
        request_code(api, phone, REMOTE_ADDR=f"192.0.2.{n}").status_code for n in range(1, 8)
    ]

    assert answers == [202] * 5 + [429, 429]
    assert len(outbox) == 5


def test_a_network_gets_a_daily_number_of_wrong_codes_then_waits_but_the_owner_does_not(
    api, outbox, alice, clock, settings
):
    phone = str(alice.phone_number)
    guesses = 0
    for _ in range(settings.OTP_FAILURES_PER_NUMBER_NETWORK // settings.OTP_SMS_MAX_FAILURES):
        clock.shift(settings.OTP_SEND_WINDOW_PER_NUMBER)
        assert request_code(api, phone, **ATTACKER).status_code == 202  # lifts their lock-out
        guesses += len(_six_wrong_codes(api, phone, wrong(last_code(outbox)), clock, ATTACKER))
    clock.shift(settings.OTP_SEND_WINDOW_PER_NUMBER)
    assert request_code(api, phone, **ATTACKER).status_code == 202

    refused = verify_code(api, phone, wrong(last_code(outbox)), **ATTACKER)

    assert guesses == settings.OTP_FAILURES_PER_NUMBER_NETWORK
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 0 < int(refused["Retry-After"]) <= settings.OTP_FAILURE_WINDOW
    assert "hours" in refused.json()["detail"]  # "Too many attempts. Try again in 24 hours."
    assert verify_code(api, phone, last_code(outbox), **OWNER).status_code == 200


def test_the_numbers_daily_cap_on_wrong_codes_holds_across_networks(
    api, outbox, alice, clock, settings
):
    """The bound on guessing, whatever the number of networks; and, stated in the README, the
    price: enough networks together can lock the owner out until the window frees."""
    settings.OTP_SMS_THROTTLE_FACTOR = 0  # no back-off: this is about the counts
    settings.OTP_FAILURES_PER_NUMBER_NETWORK = 2
    settings.OTP_FAILURES_PER_NUMBER = 5
    phone = str(alice.phone_number)
    request_code(api, phone, **OWNER)
    code = last_code(outbox)
    answers = []
    for n in range(1, 5):
        for _ in range(2):
            guess = verify_code(api, phone, wrong(code), REMOTE_ADDR=f"192.0.2.{n}")
            answers.append(guess.status_code)

    assert answers == [400] * 5 + [429] * 3
    refused = verify_code(api, phone, code, **OWNER)
    assert refused.status_code == 429
    clock.shift(settings.OTP_FAILURE_WINDOW + 1)
    assert verify_code(api, phone, code, **OWNER).status_code == 400  # the code has expired
    request_code(api, phone, **OWNER)
    assert verify_code(api, phone, last_code(outbox), **OWNER).status_code == 200


def test_attempt_rows_hold_only_keyed_digests_and_are_pruned(api, outbox, clock, settings):
    verify_code(api, "+447400155555", "123456", **ATTACKER)

    rows = list(CodeAttempts.objects.values())
    assert len(rows) == 2  # the number from this network, and from all networks
    for row in rows:
        assert "7400155555" not in str(row) and "203.0.113.66" not in str(row)
    clock.shift(settings.OTP_SMS_CODE_VALIDITY + 1)
    assert identity_prune()["code_attempts"] == 0  # the day's count still holds
    clock.shift(settings.OTP_FAILURE_WINDOW)
    assert identity_prune()["code_attempts"] == 2
    assert not CodeAttempts.objects.exists()


def test_limits_that_let_one_network_reach_a_shared_cap_fail_the_system_check(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    from consent.identity.checks import check_sign_in_limits

    assert check_sign_in_limits(None) == []  # the defaults
    settings.OTP_FAILURES_PER_NUMBER_NETWORK = settings.OTP_FAILURES_PER_NUMBER
    settings.OTP_SEND_LIMIT_PER_NUMBER_TOTAL = 18  # what one network can ask in an hour

    assert [error.id for error in check_sign_in_limits(None)] == ["consent.E001", "consent.E002"]
    with pytest.raises(SystemCheckError, match="consent.E002"):
        call_command("check")
