"""Production refuses what an attacker found passing ``check --deploy`` after issue 12, item 9:
an SMS backend that prints codes under another name, an SMS gateway in clear, client addresses
taken from a header no proxy sets (or a proxy whose header is not named), any host, no
database, and Django's own security warnings (weak secret key, no SSL redirect, no HSTS)."""

from __future__ import annotations

import pytest

from consent.identity.sms.backends.console import SmsBackend as ConsoleSmsBackend
from consent.identity.sms.backends.http import SmsBackend as HttpSmsBackend
from tests.compliance_site.test_settings import _deploy_check_ids, _manage, _production_env


class PrintingSubclass(ConsoleSmsBackend):
    """A subclass of a development backend that says nothing about itself."""


class ProviderSubclass(HttpSmsBackend):
    """A provider's backend built on the HTTP one: it delivers to phones."""


class Undeclared:
    """Not an SMS backend at all."""


HERE = __name__

# --- hole A: the SMS backend is judged by what its class is, not by its dotted path ---------


@pytest.mark.parametrize(
    "backend",
    [
        # the console backend, imported by file; the base class, imported by console
        "consent.identity.sms.backends.file.ConsoleSmsBackend",
        "consent.identity.sms.backends.console.BaseSmsBackend",
        "consent.identity.sms.backends.base.BaseSmsBackend",
        f"{HERE}.PrintingSubclass",
        f"{HERE}.Undeclared",
        "consent.identity.sms.backends.no_such_module.SmsBackend",
    ],
)
def test_check_deploy_refuses_a_backend_that_does_not_deliver_to_phones(settings, backend):
    assert _deploy_check_ids(settings, SMS_BACKEND=backend) == {"E001"}


def test_check_deploy_accepts_a_provider_backend_built_on_the_http_one(settings):
    assert _deploy_check_ids(settings, SMS_BACKEND=f"{HERE}.ProviderSubclass") == set()


@pytest.mark.parametrize(
    "backend",
    [
        "consent.identity.sms.backends.file.ConsoleSmsBackend",
        "consent.identity.sms.backends.console.BaseSmsBackend",
    ],
)
def test_production_refuses_an_alias_of_a_development_backend(tmp_path, backend):
    production = _production_env(tmp_path)
    production["SMS_BACKEND"] = backend
    result = _manage("check", "--deploy", extra_env=production)
    assert result.returncode != 0
    assert "does not deliver to phones" in result.stderr


# --- hole B: other unsafe production values ------------------------------------------------


@pytest.mark.parametrize(
    ("unsafe", "says"),
    [
        ({"SMS_HTTP_BASE_URL": "http://sms.example"}, "SMS_HTTP_BASE_URL"),
        ({"CLIENT_IP_HEADER": "X-Forwarded-For"}, "CLIENT_IP_HEADER"),
        ({"BEHIND_PROXY": "true"}, "CLIENT_IP_HEADER"),
        ({"DJANGO_ALLOWED_HOSTS": "*"}, "DJANGO_ALLOWED_HOSTS"),
        ({"DJANGO_ALLOWED_HOSTS": "faceledger.example,*"}, "DJANGO_ALLOWED_HOSTS"),
        ({"DATABASE_URL": None}, "DATABASE_URL"),
    ],
)
def test_production_check_deploy_fails_on_each_unsafe_value(tmp_path, unsafe, says):
    production = _production_env(tmp_path)
    for name, value in unsafe.items():
        if value is None:
            del production[name]
        else:
            production[name] = value
    result = _manage("check", "--deploy", extra_env=production)
    assert result.returncode != 0, result.stdout
    assert says in result.stderr


@pytest.mark.parametrize(
    ("unsafe", "says"),
    [
        ({"DJANGO_SECRET_KEY": "short-and-weak"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "django-insecure-" + "k" * 40 + "abcdefgh"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECURE_SSL_REDIRECT": "0"}, "DJANGO_SECURE_SSL_REDIRECT"),
        ({"DJANGO_SECURE_HSTS_SECONDS": "0"}, "DJANGO_SECURE_HSTS_SECONDS"),
    ],
)
def test_production_refuses_to_start_on_a_weak_key_or_without_https(tmp_path, unsafe, says):
    # Every keyed digest of a phone number is keyed by the secret key: a guessable key turns
    # the digest tables back into numbers. Start-up refuses it, not only `check --deploy`.
    production = {**_production_env(tmp_path), **unsafe}
    result = _manage("check", extra_env=production)
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr and says in result.stderr


def test_a_declared_proxy_with_its_client_address_header_passes(tmp_path):
    production = _production_env(tmp_path)
    production.update(BEHIND_PROXY="true", CLIENT_IP_HEADER="X-Forwarded-For")
    result = _manage("check", "--deploy", extra_env=production)
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize(
    ("unsafe", "check_id"),
    [
        ({"SMS_HTTP_BASE_URL": "http://sms.example"}, "E005"),
        ({"CLIENT_IP_HEADER": "X-Forwarded-For"}, "E006"),
        (
            {"BEHIND_PROXY": True, "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")},
            "E007",
        ),
        ({"ALLOWED_HOSTS": ["*"]}, "E008"),
        ({"SECRET_KEY": "short-and-weak"}, "E009"),
        ({"SECURE_SSL_REDIRECT": False}, "E009"),
        ({"SECURE_HSTS_SECONDS": 0}, "E009"),
    ],
)
def test_check_deploy_fails_on_each_unsafe_value_whatever_the_settings_module(
    settings, unsafe, check_id
):
    settings.CLIENT_IP_HEADER, settings.ALLOWED_HOSTS = "", ["faceledger.example"]
    assert check_id in _deploy_check_ids(settings, **unsafe)
