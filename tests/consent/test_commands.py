from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from consent.management.commands.seed_demo import DEMO_STAFF_PHONE
from consent.models import User
from tests.consent.test_admin import ADMIN_INDEX, admin_login

pytestmark = pytest.mark.django_db


def _run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


def _password(output: str) -> str:
    return re.search(r"Password \(shown only now\): (\S+)", output).group(1)


def _otpauth(output: str) -> str:
    return re.search(r"^(otpauth://totp/\S+)$", output, re.MULTILINE).group(1)


def test_create_staff_makes_a_staff_member_who_can_open_the_admin(audit_log):
    output = _run("create_staff", "--phone", "+447911000123", "--role", "dpo")

    user = User.objects.get(phone_number="+447911000123")
    password = _password(output)
    device = TOTPDevice.objects.get(user=user)
    assert user.is_staff and not user.is_superuser
    assert user.check_password(password) and len(password) >= 20
    assert password not in user.password
    assert device.confirmed
    assert _otpauth(output) == device.config_url
    assert "issuer=Faceledger" in device.config_url
    assert list(user.groups.values_list("name", flat=True)) == ["dpo"]
    assert Group.objects.get(name="dpo").permissions.filter(codename="view_user").exists()
    assert audit_log(with_data=True) == [("STAFF_CREATED", {"roles": ["dpo"], "superuser": False})]
    client = Client()
    assert admin_login(client, user, password=password, device=device).status_code == 302
    assert client.get(ADMIN_INDEX).status_code == 200


def test_create_staff_can_make_a_superuser_with_several_roles():
    _run(
        "create_staff",
        "--phone",
        "+447911000124",
        "--role",
        "support",
        "--role",
        "auditor",
        "--superuser",
    )

    user = User.objects.get(phone_number="+447911000124")
    assert user.is_superuser
    assert sorted(user.groups.values_list("name", flat=True)) == ["auditor", "support"]


def test_create_staff_refuses_an_existing_number(alice):
    with pytest.raises(CommandError, match="exists"):
        _run("create_staff", "--phone", str(alice.phone_number))

    alice.refresh_from_db()
    assert not alice.is_staff
    assert not TOTPDevice.objects.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--phone", "+44 20 7183 8750"],
        ["--phone", "nonsense"],
        ["--phone", "+447911000125", "--role", "god"],
    ],
)
def test_create_staff_refuses_bad_input_and_creates_nothing(args):
    with pytest.raises(CommandError):
        _run("create_staff", *args)

    assert not User.objects.exists()


def test_seed_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        _run("seed_demo")

    assert not User.objects.exists()


def test_seed_demo_twice_keeps_one_account_and_its_totp_but_issues_a_new_password(
    settings, audit_log
):
    settings.DEBUG = True

    first = _run("seed_demo")
    second = _run("seed_demo")

    user = User.objects.get(phone_number=DEMO_STAFF_PHONE)
    assert User.objects.count() == 1 and TOTPDevice.objects.count() == 1
    assert user.is_staff and user.is_superuser
    assert _otpauth(first) == _otpauth(second)
    assert _password(first) != _password(second)
    assert not user.check_password(_password(first))
    assert user.check_password(_password(second))
    assert DEMO_STAFF_PHONE in second and "/admin/" in second
    # (The apps' own demo data, e.g. swap's templates, writes its own events.)
    assert [e for e in audit_log() if e.startswith("STAFF")] == [
        "STAFF_CREATED",
        "STAFF_PASSWORD_RESET",
    ]
    client = Client()
    device = TOTPDevice.objects.get(user=user)
    assert admin_login(client, user, password=_password(second), device=device).status_code == 302
