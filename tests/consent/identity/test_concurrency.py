"""Limits and single use hold when requests arrive at once (separate DB connections)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from consent.identity.models import ApiToken, SmsDevice, User
from consent.identity.selectors import phone_digest
from consent.identity.services import check_phone
from tests.consent.conftest import NEW_NUMBER, last_code, request_code, verify_code

pytestmark = pytest.mark.django_db(transaction=True)


def _at_once(count: int, call) -> list[int]:
    """Run ``call()`` in ``count`` threads released together; return their status codes."""
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait()
            statuses.append(call().status_code)
        except BaseException as exc:  # surfaced below: a thread's failure fails the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return sorted(statuses)


def test_simultaneous_requests_for_one_number_send_at_most_the_limit(outbox):
    statuses = _at_once(6, lambda: request_code(APIClient(), NEW_NUMBER))

    assert statuses == [202, 202, 202, 429, 429, 429]
    assert len(outbox) == 3


def test_one_code_presented_at_once_by_several_clients_signs_in_only_one(outbox):
    request_code(APIClient(), NEW_NUMBER)
    code = last_code(outbox)

    statuses = _at_once(4, lambda: verify_code(APIClient(), NEW_NUMBER, code))

    assert statuses.count(200) == 1
    assert all(status in (400, 429) for status in statuses if status != 200)
    assert ApiToken.objects.count() == 1
    assert User.objects.filter(phone_number=NEW_NUMBER).count() == 1
    device = SmsDevice.objects.get(phone_digest=phone_digest(check_phone(NEW_NUMBER)))
    assert device.token is None


def test_wrong_codes_at_once_from_many_networks_stop_at_the_numbers_daily_cap(outbox, settings):
    settings.OTP_SMS_THROTTLE_FACTOR = 0  # no back-off: every guess is judged on the caps
    settings.OTP_FAILURES_PER_NUMBER_NETWORK = 2
    settings.OTP_FAILURES_PER_NUMBER = 5
    request_code(APIClient(), NEW_NUMBER)
    guess = f"{(int(last_code(outbox)) + 1) % 1_000_000:06d}"
    addresses = iter(f"192.0.2.{n}" for n in range(1, 9))
    lock = threading.Lock()

    def guess_from_a_new_network():
        with lock:
            address = next(addresses)
        return verify_code(APIClient(), NEW_NUMBER, guess, REMOTE_ADDR=address)

    statuses = _at_once(8, guess_from_a_new_network)

    assert statuses == [400] * 5 + [429] * 3
