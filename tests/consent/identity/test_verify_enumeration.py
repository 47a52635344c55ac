"""Verification says nothing about a number: for a registered number, a number with a code
waiting and a number never seen, the same sequence of wrong codes gets the same answers (status,
body, headers including ``Retry-After``), through back-off, lock-out, pruning and the lock-out's
end, from one network or two. And an attacker's wrong codes cost the real owner on the same
network no more than asking for a new code (on another network, nothing:
``test_lockout_by_network``)."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from consent.identity.models import SmsDevice
from consent.identity.services import identity_prune
from tests.consent.conftest import last_code, request_code, verify_code, wrong

pytestmark = pytest.mark.django_db

REGISTERED = "+447400100001"  # alice
PENDING = "+447400188888"  # asked for a code, never used it
NEVER_SEEN = "+447400199999"
GUESS = "000000"
# A number moves the frozen clock by that many seconds, then tries a wrong code; "wait:N" only
# moves it; "prune" runs the retention sweep. Through every back-off step and the lock-out, a
# sweep while locked out, then long enough for the failures to be forgotten, a sweep (which
# deletes the devices of numbers without an account), and the back-off starting again.
SCRIPT: list[float | str] = [
    *[0, 0, 1.5, 0, 2.5, 0, 4.5, 8.5, 16.5, 0],
    *["prune", 40, 0],
    *["wait:400", "prune", 0, 0, 2],
]


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def numbers(api, outbox, alice, clock):
    """Alice signed in once (her device has no code now); someone asked for a code for PENDING."""
    request_code(api, REGISTERED)
    assert verify_code(api, REGISTERED, last_code(outbox)).status_code == 200
    request_code(api, PENDING)
    codes = {PENDING: last_code(outbox)}
    clock.shift(1)
    return codes


# Headers that differ on every answer by design (a fresh id per request), not by number.
_PER_REQUEST = {"date", "x-request-id"}


def _answer(response) -> tuple:
    headers = {k: v for k, v in response.headers.items() if k.lower() not in _PER_REQUEST}
    return response.status_code, response.content, sorted(headers.items())


def _attack(api, clock, phone: str, pending_code: str | None) -> list[tuple]:
    """Play SCRIPT against ``phone``: the attacker's guess never is the pending code."""
    guess = wrong(pending_code) if pending_code else GUESS
    answers = []
    start = timezone.now()
    for step in SCRIPT:
        if step == "prune":
            identity_prune()
            continue
        if isinstance(step, str):
            clock.shift(float(step.removeprefix("wait:")))
            continue
        clock.shift(step)
        answers.append(_answer(verify_code(api, phone, guess)))
    # Every number is attacked from the same moment on.
    clock.move_to(start)
    return answers


def test_the_answers_are_the_same_for_every_number(api, numbers, clock):
    start = timezone.now()
    sequences = {}
    for phone in (REGISTERED, PENDING, NEVER_SEEN):
        clock.move_to(start)
        sequences[phone] = _attack(api, clock, phone, numbers.get(phone))

    assert sequences[REGISTERED] == sequences[PENDING] == sequences[NEVER_SEEN]
    statuses = [status for status, _body, _headers in sequences[NEVER_SEEN]]
    # The script does reach the back-off, the lock-out and the lock-out's end.
    assert 429 in statuses
    assert any(b'"locked_out"' in body for _status, body, _headers in sequences[NEVER_SEEN])
    assert b'"invalid_code"' in sequences[NEVER_SEEN][-1][1]


ATTACKER, OWNER = "203.0.113.66", "198.51.100.23"
# As SCRIPT, from two networks: (seconds, address) tries a wrong code from that address after
# moving the clock; ("send", address) asks for a code from there. The attacker's network backs
# off and is locked out, the owner's is not; a new code asked by the attacker lifts only the
# attacker's lock-out; the attacker reaches its network's daily cap (8 here), then both
# networks together the number's (12 here); a day later all is forgotten and pruned.
TWO_NETWORKS: list[tuple | str] = [
    *[(0, ATTACKER), (0, ATTACKER), (1.5, ATTACKER), (2.5, ATTACKER), (4.5, ATTACKER)],
    *[(8.5, ATTACKER), (16.5, ATTACKER), (0, ATTACKER), (0, OWNER), (0, OWNER)],
    *[("send", ATTACKER), (0, ATTACKER), (0, OWNER), (1.5, ATTACKER), (2.5, ATTACKER)],
    *["prune", (1.5, OWNER), (2.5, OWNER), (4.5, OWNER), (8.5, OWNER), (0, ATTACKER)],
    *["wait:86400", "prune", (0, OWNER), (0, ATTACKER)],
]


def _attack_from_two_networks(api, outbox, clock, phone: str, pending_code: str | None) -> list:
    guess = wrong(pending_code) if pending_code else GUESS
    answers = []
    for step in TWO_NETWORKS:
        if step == "prune":
            identity_prune()
        elif isinstance(step, str):
            clock.shift(float(step.removeprefix("wait:")))
        elif step[0] == "send":
            answers.append(_answer(request_code(api, phone, REMOTE_ADDR=step[1])))
            guess = wrong(last_code(outbox))
        else:
            clock.shift(step[0])
            answers.append(_answer(verify_code(api, phone, guess, REMOTE_ADDR=step[1])))
    return answers


def test_the_answers_are_the_same_for_every_number_from_two_networks(
    api, outbox, numbers, clock, settings
):
    settings.OTP_FAILURES_PER_NUMBER_NETWORK = 8
    settings.OTP_FAILURES_PER_NUMBER = 12
    start = timezone.now()
    sequences = {}
    for phone in (REGISTERED, PENDING, NEVER_SEEN):
        clock.move_to(start)
        sequences[phone] = _attack_from_two_networks(api, outbox, clock, phone, numbers.get(phone))

    assert sequences[REGISTERED] == sequences[PENDING] == sequences[NEVER_SEEN]
    answers = [(status, body, dict(headers)) for status, body, headers in sequences[NEVER_SEEN]]
    codes = [(status, body.split(b'"code":')[-1][:16]) for status, body, _ in answers]
    # The attacker's network is locked out while the owner's answers a wrong code as wrong.
    assert b'"locked_out"' in codes[7][1] and codes[8][0] == 400 and b"invalid_code" in codes[8][1]
    assert codes[10][0] == 202  # the attacker's new code
    # The daily caps: the attacker's network, then the number from every network.
    daily = [headers["Retry-After"] for status, _, headers in answers if status == 429]
    assert max(int(wait) for wait in daily) > settings.OTP_SMS_CODE_VALIDITY
    # The number's cap, reached by both networks together, refuses both.
    assert codes[-4][0] == codes[-3][0] == 429
    assert [status for status, _ in codes[-2:]] == [400, 400]  # a day later: a wrong code again


def test_back_off_answers_carry_the_same_retry_after_for_every_number(api, numbers, clock):
    start = timezone.now()
    retry_after = {}
    for phone in (REGISTERED, PENDING, NEVER_SEEN):
        clock.move_to(start)
        guess = wrong(numbers[phone]) if phone in numbers else GUESS
        first = verify_code(api, phone, guess)
        second = verify_code(api, phone, guess)
        assert (first.status_code, second.status_code) == (400, 429)
        retry_after[phone] = second["Retry-After"]

    assert retry_after == dict.fromkeys(retry_after, "1")


def test_a_never_seen_number_leaves_only_a_keyed_digest_that_is_pruned(api, clock, settings):
    verify_code(api, NEVER_SEEN, GUESS)

    device = SmsDevice.objects.get()
    assert NEVER_SEEN not in str(vars(device)) and NEVER_SEEN[1:] not in str(vars(device))
    assert device.user is None and device.token is None
    clock.shift(settings.OTP_SMS_CODE_VALIDITY + 1)
    assert identity_prune()["devices"] == 1
    assert not SmsDevice.objects.exists()


def test_an_attackers_six_wrong_codes_cost_the_owner_only_a_new_code(api, outbox, clock):
    request_code(api, REGISTERED)
    for _ in range(6):
        clock.shift(40)
        verify_code(api, REGISTERED, GUESS if last_code(outbox) != GUESS else "111111")
    assert verify_code(api, REGISTERED, last_code(outbox)).json()["code"] == "locked_out"

    request_code(api, REGISTERED)
    response = verify_code(api, REGISTERED, last_code(outbox))

    assert response.status_code == 200
    assert "token" in response.json()


def test_a_new_code_also_lifts_the_back_off(api, outbox, clock):
    request_code(api, REGISTERED)
    verify_code(api, REGISTERED, wrong(last_code(outbox)))
    assert verify_code(api, REGISTERED, last_code(outbox)).status_code == 429

    request_code(api, REGISTERED)

    assert verify_code(api, REGISTERED, last_code(outbox)).status_code == 200


def _portal_attempts(phone: str, outbox, clock) -> list[tuple]:
    browser = Client()
    browser.post("/login/", {"phone": phone})
    if last_code(outbox) == GUESS:
        pytest.skip("the random code was the guess (one chance in a million)")
    answers = []
    for step in [0, 0, 1.5, 0, 2.5, 4.5, 8.5, 16.5, 0]:
        clock.shift(step)
        response = browser.post("/login/verify/", {"code": GUESS})
        page = response.content.decode().replace(_shown(phone), "NUMBER")
        page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)
        answers.append((response.status_code, page))
    return answers


def _shown(phone: str) -> str:
    import phonenumbers

    number = phonenumbers.parse(phone, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def test_the_portals_verify_step_answers_the_same_for_a_registered_and_a_new_number(
    alice, outbox, clock
):
    start = timezone.now()
    registered = _portal_attempts(REGISTERED, outbox, clock)
    clock.move_to(start)
    new = _portal_attempts(NEVER_SEEN, outbox, clock)

    assert [status for status, _page in registered] == [status for status, _page in new]
    assert registered == new
