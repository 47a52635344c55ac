from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from consent.identity.models import SendWindow
from consent.identity.services import identity_prune
from tests.consent.conftest import NEW_NUMBER, request_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def test_a_number_gets_three_codes_per_ten_minutes_then_429_with_retry_after(
    api, outbox, clock, audit_log
):
    answers = [request_code(api, NEW_NUMBER).status_code for _ in range(3)]
    clock.shift(100)

    refused = request_code(api, NEW_NUMBER)

    assert answers == [202, 202, 202]
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert refused["Retry-After"] == "500"  # the first send leaves the window 600 s after it
    assert len(outbox) == 3
    assert audit_log(with_data=True)[-1] == (
        "OTP_SEND_REFUSED",
        {"limits": ["number"], "retry_after": 500},
    )

    clock.shift(500)
    assert request_code(api, NEW_NUMBER).status_code == 202


def test_refused_sends_are_not_counted(api, outbox, clock):
    for _ in range(3):
        request_code(api, NEW_NUMBER)
    for _ in range(5):
        assert request_code(api, NEW_NUMBER).status_code == 429

    clock.shift(601)

    assert [request_code(api, NEW_NUMBER).status_code for _ in range(4)] == [202, 202, 202, 429]


def test_one_address_gets_twenty_codes_per_hour_across_numbers(api, outbox, clock):
    numbers = [f"+44740017{n:04d}" for n in range(21)]
    answers = [request_code(api, number).status_code for number in numbers]

    assert answers == [202] * 20 + [429]
    refused = request_code(api, "+447400180000")
    assert refused["Retry-After"] == "3600"
    # Another address is not affected.
    other = request_code(api, "+447400180000", REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 202


def test_an_ipv6_client_is_counted_by_its_slash_64(api, outbox, settings):
    settings.OTP_SEND_LIMIT_PER_IP = 2
    first = request_code(api, "+447400170001", REMOTE_ADDR="2001:db8:1:2::1")
    second = request_code(api, "+447400170002", REMOTE_ADDR="2001:db8:1:2::ffff")
    third = request_code(api, "+447400170003", REMOTE_ADDR="2001:db8:1:2:aaaa::3")
    elsewhere = request_code(api, "+447400170004", REMOTE_ADDR="2001:db8:1:3::1")

    assert [r.status_code for r in (first, second, third, elsewhere)] == [202, 202, 429, 202]


def test_the_client_address_comes_from_the_configured_proxy_header(api, outbox, settings):
    settings.OTP_SEND_LIMIT_PER_IP = 1
    settings.CLIENT_IP_HEADER = "X-Forwarded-For"
    # Same REMOTE_ADDR (the proxy), different clients: the last forwarded address counts.
    a = request_code(api, "+447400170001", HTTP_X_FORWARDED_FOR="203.0.113.9, 192.0.2.1")
    b = request_code(api, "+447400170002", HTTP_X_FORWARDED_FOR="192.0.2.2")
    c = request_code(api, "+447400170003", HTTP_X_FORWARDED_FOR="203.0.113.9, 192.0.2.2")
    # Without the header, the request counts against the proxy's own address.
    d = request_code(api, "+447400170004")
    e = request_code(api, "+447400170005", HTTP_X_FORWARDED_FOR="not an address")

    assert [r.status_code for r in (a, b, c, d, e)] == [202, 202, 429, 202, 429]


def test_a_number_prefix_is_limited_across_numbers_and_addresses(api, outbox, settings, audit_log):
    settings.OTP_SEND_LIMIT_PER_PREFIX = 3
    # +44 7400 … shares the prefix "44:7400"; each request comes from another address.
    answers = [
        request_code(api, f"+44740019{n:04d}", REMOTE_ADDR=f"198.51.100.{n}").status_code
        for n in range(4)
    ]
    other_prefix = request_code(api, "+447911123456", REMOTE_ADDR="198.51.100.99")

    assert answers == [202, 202, 202, 429]
    assert other_prefix.status_code == 202
    assert audit_log(with_data=True)[-2] == (
        "OTP_SEND_REFUSED",
        {"limits": ["prefix"], "retry_after": 3600},
    )


def test_counters_hold_only_keyed_digests(api, outbox):
    request_code(api, NEW_NUMBER, REMOTE_ADDR="203.0.113.50")

    rows = list(SendWindow.objects.values_list("scope", "key", "phone_digest"))
    # The number from this network and from all networks, the address, the prefix.
    assert sorted(scope for scope, _, _ in rows) == ["ip", "number", "number_total", "prefix"]
    for _, key, digest in rows:
        assert len(key) == 64
        assert "203.0.113.50" not in key + digest and "7400155555" not in key + digest


def test_old_counters_are_pruned(api, outbox):
    request_code(api, NEW_NUMBER)
    assert SendWindow.objects.count() == 4

    with time_machine.travel(timezone.now() + timedelta(seconds=601), tick=False):
        assert identity_prune()["send_windows"] == 1  # the number's window for this network
    with time_machine.travel(timezone.now() + timedelta(seconds=3601), tick=False):
        assert identity_prune()["send_windows"] == 3

    assert not SendWindow.objects.exists()
