from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance_site.staff_roles import ROLES as STAFF_ROLES
from consent.identity.models import User
from consent.management.commands.seed_demo import DEMO_STAFF, DEMO_SUPERUSER_PHONE
from tests.consent.identity.test_admin import ADMIN_INDEX, admin_login

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


def _sign_ins(output: str) -> dict[str, tuple[str, str, str]]:
    """Role -> (phone, password, otpauth URI), as seed_demo prints them."""
    found = re.findall(
        r"^\[(\w+)\].*?Phone number: (\S+).*?Password \(shown only now\): (\S+).*?"
        r"^(otpauth://totp/\S+)$",
        output,
        re.MULTILINE | re.DOTALL,
    )
    return {role: (phone, password, uri) for role, phone, password, uri in found}


def test_seed_demo_makes_one_staff_account_per_role_and_no_superuser(settings, audit_log):
    settings.DEBUG = True

    output = _run("seed_demo")

    sign_ins = _sign_ins(output)
    assert sorted(sign_ins) == sorted(STAFF_ROLES) == ["auditor", "dpo", "support"]
    assert not User.objects.filter(is_superuser=True).exists()
    assert [e for e in audit_log() if e.startswith("STAFF")] == ["STAFF_CREATED"] * 3
    for role, (phone, password, _uri) in sign_ins.items():
        user = User.objects.get(phone_number=DEMO_STAFF[role])
        assert phone == DEMO_STAFF[role] and user.is_staff and not user.is_superuser
        assert [g.name for g in user.groups.all()] == [role]
        client = Client()
        device = TOTPDevice.objects.get(user=user)
        assert admin_login(client, user, password=password, device=device).status_code == 302
    assert "/auditor/" in output and "/admin/" in output
    assert "seed_demo --superuser" in output  # how to get one, if really needed


def test_seed_demo_twice_keeps_the_accounts_and_their_totp_but_issues_new_passwords(settings):
    settings.DEBUG = True

    first = _sign_ins(_run("seed_demo"))
    second = _sign_ins(_run("seed_demo"))

    assert User.objects.count() == 3 and TOTPDevice.objects.count() == 3
    for role in DEMO_STAFF:
        assert first[role][2] == second[role][2]  # the same authenticator entry
        assert first[role][1] != second[role][1]
        user = User.objects.get(phone_number=DEMO_STAFF[role])
        assert user.check_password(second[role][1]) and not user.check_password(first[role][1])


def test_seed_demo_makes_a_superuser_only_when_asked(settings, audit_log):
    settings.DEBUG = True

    output = _run("seed_demo", "--superuser")

    sign_ins = _sign_ins(output)
    assert sorted(sign_ins) == ["auditor", "dpo", "superuser", "support"]
    superuser = User.objects.get(phone_number=DEMO_SUPERUSER_PHONE)
    assert superuser.is_superuser and sign_ins["superuser"][0] == DEMO_SUPERUSER_PHONE
    assert ("STAFF_CREATED", {"roles": [], "superuser": True}) in audit_log(with_data=True)
