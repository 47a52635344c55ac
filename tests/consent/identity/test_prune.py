from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from consent.identity.models import ApiToken, SessionNumber, SmsDevice
from consent.identity.services import identity_prune
from consent.identity.session_numbers import session_numbers_prune
from consent.identity.tasks import identity_prune_task, session_numbers_prune_task
from tests.consent.conftest import NEW_NUMBER, last_code, request_code, verify_code
from tests.erasure.kit import phone_forms, raw_scan

pytestmark = pytest.mark.django_db


def _later(seconds: float):
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False)


def test_a_device_of_a_number_that_never_signed_in_is_deleted_once_its_code_expired(
    api, outbox, alice, audit_log
):
    request_code(api, NEW_NUMBER)
    request_code(api, str(alice.phone_number))
    verify_code(api, str(alice.phone_number), last_code(outbox))

    with _later(60):
        assert identity_prune()["devices"] == 0  # the stranger's code is still valid
    with _later(301):
        counts = identity_prune()

    assert counts["devices"] == 1
    assert list(SmsDevice.objects.values_list("user", flat=True)) == [alice.pk]
    assert audit_log(with_data=True)[-1] == ("IDENTITY_PRUNED", counts)


def test_expired_api_tokens_are_deleted(api, outbox, alice, settings):
    request_code(api, str(alice.phone_number))
    verify_code(api, str(alice.phone_number), last_code(outbox))

    with _later(settings.API_TOKEN_TTL + 1):
        identity_prune()

    assert not ApiToken.objects.exists()


def test_a_prune_with_nothing_to_do_writes_no_event(audit_log):
    assert identity_prune() == {
        "devices": 0,
        "send_windows": 0,
        "code_attempts": 0,
        "api_tokens": 0,
    }
    assert audit_log() == []


def test_the_prune_task_runs_through_celery_and_is_scheduled_by_beat(api, outbox):
    request_code(api, NEW_NUMBER)

    with _later(3601):
        result = identity_prune_task.delay()

    assert result.get() == {"devices": 1, "send_windows": 4, "code_attempts": 0, "api_tokens": 0}
    from compliance_site.settings import base

    entry = base.CELERY_BEAT_SCHEDULE["identity-prune"]
    assert entry["task"] == identity_prune_task.name == "consent.tasks.identity_prune"
    assert entry["schedule"] > 0
    assert django_settings.CELERY_TASK_ALWAYS_EAGER  # the test settings run it in-process


def test_a_number_left_half_way_in_the_portal_is_pruned_with_its_code_then_its_session(
    alice, outbox, audit_log, settings
):
    stranger = Client()
    assert stranger.post("/login/", {"phone": NEW_NUMBER}).status_code == 302  # never finished
    signed_in = Client()
    signed_in.force_login(alice)
    assert SessionNumber.objects.count() == 1 and Session.objects.count() == 2

    with _later(settings.OTP_SMS_CODE_VALIDITY + 1):
        assert stranger.get("/login/verify/")["Location"] == "/login/"  # no longer used
        result = session_numbers_prune_task.delay()
    assert result.get() == {"session_numbers": 1, "sessions": 0}
    with _later(settings.SESSION_COOKIE_AGE + 1):
        counts = session_numbers_prune()
        identity_prune()

    assert counts == {"session_numbers": 0, "sessions": 2}
    assert not Session.objects.exists() and not SessionNumber.objects.exists()
    assert audit_log(with_data=True)[-2] == ("IDENTITY_PRUNED", counts)
    assert raw_scan(phone_forms(NEW_NUMBER)) == []  # a number with no account: nothing left


def test_the_session_prune_is_scheduled_by_beat_and_quiet_with_nothing_to_do(audit_log):
    from compliance_site.settings import base

    entry = base.CELERY_BEAT_SCHEDULE["session-numbers-prune"]
    assert entry["task"] == session_numbers_prune_task.name
    assert entry["task"] == "consent.tasks.session_numbers_prune"
    assert entry["schedule"] > 0
    assert session_numbers_prune() == {"session_numbers": 0, "sessions": 0}
    assert audit_log() == []
