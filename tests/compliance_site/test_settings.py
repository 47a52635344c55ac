import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ImproperlyConfigured

from compliance_site import devkeys, env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def environ(monkeypatch):
    for name in ("FL_X", "FL_X_FILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("raw", ["maybe", "2", "yes please"])
def test_a_bad_boolean_fails_loudly(environ, raw):
    environ.setenv("FL_X", raw)
    with pytest.raises(ImproperlyConfigured, match="FL_X"):
        env.env_bool("FL_X")


def test_a_bad_integer_or_one_below_its_minimum_fails_loudly(environ):
    environ.setenv("FL_X", "ten")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env.env_int("FL_X", 1)
    environ.setenv("FL_X", "-1")
    with pytest.raises(ImproperlyConfigured, match="minimum"):
        env.env_int("FL_X", 1, minimum=0)


def test_a_required_value_without_default_fails_loudly(environ):
    with pytest.raises(ImproperlyConfigured, match="Set the environment variable FL_X"):
        env.env_str("FL_X")


def test_a_secret_file_wins_over_the_plain_variable(environ, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    environ.setenv("FL_X", "from-env")
    environ.setenv("FL_X_FILE", str(secret))
    assert env.env_str("FL_X") == "from-file"


def test_an_unreadable_secret_file_fails_loudly(environ, tmp_path):
    environ.setenv("FL_X_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env.env_str("FL_X")


def test_database_urls_are_parsed_for_both_engines():
    assert env.database_from_url("sqlite:////srv/db.sqlite3")["NAME"] == "/srv/db.sqlite3"
    assert env.database_from_url("sqlite:///var/db.sqlite3")["NAME"] == "var/db.sqlite3"
    pg = env.database_from_url("postgres://app:p%40ss@db.internal:6543/faceledger")
    assert pg == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "faceledger",
        "USER": "app",
        "PASSWORD": "p@ss",
        "HOST": "db.internal",
        "PORT": "6543",
    }
    with pytest.raises(ImproperlyConfigured):
        env.database_from_url("mysql://x/y")


def _manage(*args, extra_env):
    ours = (
        "DJANGO_",
        "AUDIT_",
        "BIOMETRIC_",
        "BACKUP_",
        "CONTROLLER_",
        "PUBLIC_BASE_URL",
        "SMS_",
        "SWAP_C2PA_",
        "C2PA_",
        "BEHIND_PROXY",
        "CLIENT_IP_HEADER",
        "DATABASE_URL",
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    clean.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _key_store(path: Path) -> Path:
    """A key store as `manage.py rotate_master_key` leaves it: one current key."""
    from compliance_site import keystore

    keystore.create(now=datetime.now(UTC), path=keystore.ensure_folder(path))
    return path


def _c2pa_files(folder: Path) -> tuple[Path, Path]:
    """A development C2PA chain and key (see devkeys), as files."""
    chain, key = devkeys.c2pa_dev_credentials(folder)
    (folder / "chain.pem").write_text(chain)
    (folder / "key.pem").write_text(key)
    return folder / "chain.pem", folder / "key.pem"


def _production_env(tmp_path):
    chain, c2pa_key = _c2pa_files(tmp_path)
    keys = {}
    for job in ("checkpoint", "receipt", "erasure", "manifest"):
        keys[f"AUDIT_{job.upper()}_KEY_FILE"] = str(tmp_path / f"audit-{job}.pem")
        (tmp_path / f"audit-{job}.pem").write_text(devkeys.test_ed25519_pem(f"prod {job}"))
    return {
        **keys,
        "DJANGO_SETTINGS_MODULE": "compliance_site.settings.production",
        "DJANGO_SECRET_KEY": "x" * 20 + "-production-like-secret-" + "y" * 30,
        "DJANGO_ALLOWED_HOSTS": "faceledger.example",
        "AUDIT_LOG_ID": "faceledger-prod",
        "BIOMETRIC_KEY_STORE": str(_key_store(tmp_path / "keys")),
        "BACKUP_RETENTION_DAYS": "35",
        "FACELEDGER_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CONTROLLER_NAME": "Faceledger Ltd",
        "CONTROLLER_ADDRESS": "1 Example Street, London",
        "CONTROLLER_EMAIL": "privacy@faceledger.example",
        "CONTROLLER_JURISDICTION": "GB",
        "CONTROLLER_REPRESENTATIVE": "none: the controller is established in the UK",
        "DPO_NAME": "Jane Doe",
        "DPO_EMAIL": "dpo@faceledger.example",
        "RECIPIENT_HOSTING": "Example Hosting Ltd",
        "RECIPIENT_SMS_GATEWAY": "Example SMS Ltd",
        "LOG_RETENTION_DAYS": "183",
        "PUBLIC_BASE_URL": "https://faceledger.example",
        "SMS_BACKEND": "consent.identity.sms.backends.http.SmsBackend",
        "SMS_HTTP_ACCOUNT_SID": "AC0123",
        "SMS_HTTP_AUTH_TOKEN": "sms-provider-token",
        "SMS_HTTP_FROM": "Faceledger",
        "SWAP_C2PA_CERT_CHAIN_FILE": str(chain),
        "SWAP_C2PA_PRIVATE_KEY_FILE": str(c2pa_key),
    }


def test_production_settings_pass_the_deployment_checklist(tmp_path):
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", extra_env=_production_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "missing",
    [
        "DJANGO_SECRET_KEY",
        "AUDIT_CHECKPOINT_KEY_FILE",
        "AUDIT_RECEIPT_KEY_FILE",
        "AUDIT_ERASURE_KEY_FILE",
        "AUDIT_MANIFEST_KEY_FILE",
        "AUDIT_LOG_ID",
        "BIOMETRIC_KEY_STORE",
        "BACKUP_RETENTION_DAYS",
    ],
)
def test_production_refuses_to_start_without_a_secret(tmp_path, missing):
    production = _production_env(tmp_path)
    del production[missing]
    result = _manage("check", extra_env=production)
    assert result.returncode != 0
    assert "Set the environment variable" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONTROLLER_ADDRESS", "Not a real address: set CONTROLLER_ADDRESS"),
        ("CONTROLLER_REPRESENTATIVE", "Not set: CONTROLLER_REPRESENTATIVE"),
        ("DPO_NAME", "Not set: DPO_NAME"),
        ("RECIPIENT_HOSTING", "Not set: RECIPIENT_HOSTING"),
        ("LOG_RETENTION_DAYS", "30"),
    ],
)
def test_production_refuses_placeholders_for_controller_representative_dpo_and_short_logs(
    tmp_path, name, value
):
    production = _production_env(tmp_path)
    production[name] = value
    result = _manage("check", extra_env=production)
    assert result.returncode != 0
    assert name in result.stderr and "ImproperlyConfigured" in result.stderr


@pytest.mark.parametrize("missing", ["DPO_NAME", "CONTROLLER_REPRESENTATIVE", "LOG_RETENTION_DAYS"])
def test_production_refuses_to_start_without_the_dpo_representative_or_log_retention(
    tmp_path, missing
):
    production = _production_env(tmp_path)
    del production[missing]
    result = _manage("check", extra_env=production)
    assert result.returncode != 0 and f"Set the environment variable {missing}" in result.stderr


@pytest.mark.parametrize(
    ("job", "shared_with"), [("receipt", "checkpoint"), ("manifest", "erasure")]
)
def test_production_refuses_one_signing_key_for_two_jobs(tmp_path, job, shared_with):
    production = _production_env(tmp_path)
    production[f"AUDIT_{job.upper()}_KEY_FILE"] = production[
        f"AUDIT_{shared_with.upper()}_KEY_FILE"
    ]
    result = _manage("check", extra_env=production)
    assert result.returncode != 0
    assert f"AUDIT_{job.upper()}_KEY is the same key as AUDIT_{shared_with.upper()}_KEY" in (
        result.stderr
    )


def test_production_refuses_a_retired_key_brought_back(tmp_path):
    production = _production_env(tmp_path)
    current = serialization.load_pem_private_key(
        Path(production["AUDIT_RECEIPT_KEY_FILE"]).read_bytes(), password=None
    )
    public = current.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    production["AUDIT_KEY_HISTORY"] = json.dumps(
        [
            {
                "job": "receipt",
                "public_key": public.decode(),
                "valid_from": None,
                "valid_until": "2026-01-01T00:00:00.000000Z",
            }
        ]
    )
    result = _manage("check", extra_env=production)
    assert result.returncode != 0
    assert "is a retired key still in use for receipt" in result.stderr


def test_production_refuses_to_start_without_a_safe_key_store(tmp_path):
    production = _production_env(tmp_path)
    store = Path(production["BIOMETRIC_KEY_STORE"])
    store.chmod(0o755)  # readable by other users

    unsafe = _manage("check", "--deploy", extra_env=production)
    production["BIOMETRIC_KEY_STORE"] = str(tmp_path / "not-mounted")
    missing = _manage("check", "--deploy", extra_env=production)

    assert unsafe.returncode != 0 and "faceledger.E102" in unsafe.stderr
    assert missing.returncode != 0 and "faceledger.E101" in missing.stderr


# --- unsafe production defaults (issue 12, item 9) ---------------------------------------------


def _production_check(production, *args):
    return _manage("check", "--deploy", *args, extra_env=production)


@pytest.mark.parametrize(
    "address",
    [
        "http://127.0.0.1:8000",
        "https://localhost",
        "http://faceledger.example",
        "faceledger.example",
    ],
)
def test_production_refuses_a_site_address_that_links_nowhere_real(tmp_path, address):
    """Receipts, PDFs and the receipt page link to PUBLIC_BASE_URL: the development address
    (or one in clear) would print links to nowhere."""
    production = _production_env(tmp_path)
    production["PUBLIC_BASE_URL"] = address
    result = _production_check(production)
    assert result.returncode != 0
    assert "PUBLIC_BASE_URL" in result.stderr


def test_production_refuses_to_start_without_an_sms_provider(tmp_path):
    production = _production_env(tmp_path)
    del production["SMS_BACKEND"]
    result = _production_check(production)
    assert result.returncode != 0
    assert "Set the environment variable SMS_BACKEND" in result.stderr


@pytest.mark.parametrize("backend", ["console", "locmem", "file"])
def test_production_refuses_a_development_sms_backend(tmp_path, backend):
    production = _production_env(tmp_path)
    production["SMS_BACKEND"] = f"consent.identity.sms.backends.{backend}.SmsBackend"
    result = _production_check(production)
    assert result.returncode != 0
    assert "is a development backend" in result.stderr


def test_production_refuses_the_http_sms_backend_without_its_account(tmp_path):
    production = _production_env(tmp_path)
    del production["SMS_HTTP_AUTH_TOKEN"]
    result = _production_check(production)
    assert result.returncode != 0
    assert "Set the environment variable SMS_HTTP_AUTH_TOKEN" in result.stderr


def test_production_refuses_unsigned_outputs_without_a_stated_reason(tmp_path):
    production = _production_env(tmp_path)
    del production["SWAP_C2PA_CERT_CHAIN_FILE"], production["SWAP_C2PA_PRIVATE_KEY_FILE"]
    refused = _production_check(production)
    production["C2PA_DISABLED_REASON"] = "Our signing certificate is being renewed."
    stated = _production_check(production, "--fail-level", "WARNING")
    assert refused.returncode != 0
    assert "C2PA_DISABLED_REASON" in refused.stderr
    assert stated.returncode == 0, stated.stderr + stated.stdout


def test_a_c2pa_signer_that_cannot_sign_stops_production_from_starting(tmp_path):
    production = _production_env(tmp_path)
    _, other_key = _c2pa_files(tmp_path / "other")  # a key that is not the certificate's
    production["SWAP_C2PA_PRIVATE_KEY_FILE"] = str(other_key)
    result = _production_check(production)
    assert result.returncode != 0
    assert "C2PA signing is configured but fails" in result.stderr


def test_a_c2pa_library_that_does_not_load_stops_production_from_starting(tmp_path):
    broken = tmp_path / "site" / "c2pa"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('libc2pa_c.so: cannot open')\n")
    production = _production_env(tmp_path)
    production["PYTHONPATH"] = str(tmp_path / "site")
    result = _production_check(production)
    assert result.returncode != 0
    assert "C2PA signing is configured but fails" in result.stderr
    assert "does not load" in result.stderr


_IS_SECURE = (
    "from django.test import RequestFactory; "
    "request = RequestFactory().get('/', HTTP_X_FORWARDED_PROTO='https'); "
    "print('secure' if request.is_secure() else 'plain')"
)


@pytest.mark.parametrize(("behind_proxy", "seen"), [(None, "plain"), ("true", "secure")])
def test_the_forwarded_proto_header_is_trusted_only_behind_a_declared_proxy(
    tmp_path, behind_proxy, seen
):
    production = _production_env(tmp_path)
    if behind_proxy is not None:
        production.update(BEHIND_PROXY=behind_proxy, CLIENT_IP_HEADER="X-Forwarded-For")
    result = _manage("shell", "-c", _IS_SECURE, extra_env=production)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == seen


# The same rules as deployment checks, whichever settings module runs (here the test settings,
# each made unsafe in one way).

SAFE = {
    "SMS_BACKEND": "consent.identity.sms.backends.http.SmsBackend",
    "SWAP_C2PA_CERT_CHAIN": "",
    "SWAP_C2PA_PRIVATE_KEY": "",
    "C2PA_DISABLED_REASON": "Testing.",
    "SECURE_PROXY_SSL_HEADER": None,
    "BEHIND_PROXY": False,
    "CLIENT_IP_HEADER": "",
    "SMS_HTTP_BASE_URL": "https://api.twilio.com",
    "ALLOWED_HOSTS": ["faceledger.example"],
    "SECRET_KEY": "x" * 20 + "-production-like-secret-" + "y" * 30,
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 60 * 60 * 24 * 365,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "CONTROLLER_NAME": "Faceledger Ltd",
    "CONTROLLER_ADDRESS": "1 Example Street, London",
    "CONTROLLER_EMAIL": "privacy@faceledger.example",
    "CONTROLLER_JURISDICTION": "GB",
    "CONTROLLER_REPRESENTATIVE": "none: the controller is established in the UK",
    "DPO_NAME": "Jane Doe",
    "DPO_EMAIL": "dpo@faceledger.example",
    "RECIPIENT_HOSTING": "Example Hosting Ltd",
    "RECIPIENT_HOSTING_COUNTRY": "",
    "RECIPIENT_SMS_GATEWAY": "Example SMS Ltd",
    "RECIPIENT_SMS_GATEWAY_COUNTRY": "",
    "LOG_RETENTION_DAYS": 183,
}


SIGNING_JOBS = ("checkpoint", "receipt", "erasure", "manifest")
SHARED_KEY = devkeys.test_ed25519_pem("shared")
TEST_KEYS = {job: devkeys.test_ed25519_pem(f"check {job}") for job in SIGNING_JOBS}


def _deploy_check_ids(settings, **unsafe) -> set[str]:
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    for name, value in {**SAFE, **unsafe}.items():
        setattr(settings, name, value)
    try:
        call_command("check", "--deploy")
    except SystemCheckError as failed:
        return set(re.findall(r"faceledger\.(E\d{3})", str(failed)))
    return set()


def test_check_deploy_passes_these_rules_when_each_is_safe(settings):
    assert _deploy_check_ids(settings) == set()


@pytest.mark.parametrize(
    ("unsafe", "check_id"),
    [
        ({"SMS_BACKEND": "consent.identity.sms.backends.console.SmsBackend"}, "E001"),
        ({"SMS_BACKEND": "consent.identity.sms.backends.locmem.SmsBackend"}, "E001"),
        ({"SMS_BACKEND": "consent.identity.sms.backends.file.SmsBackend"}, "E001"),
        ({"SMS_BACKEND": ""}, "E001"),
        ({"C2PA_DISABLED_REASON": ""}, "E002"),
        ({"SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")}, "E004"),
        ({"CONTROLLER_ADDRESS": "Not a real address: set CONTROLLER_ADDRESS"}, "E010"),
        ({"CONTROLLER_REPRESENTATIVE": "Not set: CONTROLLER_REPRESENTATIVE"}, "E010"),
        ({"DPO_NAME": "Not set: DPO_NAME"}, "E010"),
        ({"DPO_EMAIL": "dpo@faceledger.invalid"}, "E010"),
        ({"RECIPIENT_SMS_GATEWAY": "Not set: RECIPIENT_SMS_GATEWAY"}, "E010"),
        ({"CONTROLLER_JURISDICTION": "China"}, "E010"),
        ({"RECIPIENT_SMS_GATEWAY_COUNTRY": "US", "RECIPIENT_SMS_GATEWAY_SAFEGUARD": ""}, "E010"),
        ({"LOG_RETENTION_DAYS": 90}, "E011"),
        ({"AUDIT_SIGNING_KEYS": {job: SHARED_KEY for job in SIGNING_JOBS}}, "E012"),
        ({"AUDIT_SIGNING_KEYS": {**TEST_KEYS, "erasure": ""}}, "E012"),
    ],
)
def test_check_deploy_fails_on_each_unsafe_default(settings, unsafe, check_id):
    assert _deploy_check_ids(settings, **unsafe) == {check_id}


def test_check_deploy_fails_when_c2pa_is_configured_but_cannot_sign(settings, tmp_path):
    chain, _ = devkeys.c2pa_dev_credentials(tmp_path / "one")
    _, other_key = devkeys.c2pa_dev_credentials(tmp_path / "two")
    good_key = devkeys.c2pa_dev_credentials(tmp_path / "one")[1]
    signing = {"SWAP_C2PA_CERT_CHAIN": chain, "C2PA_DISABLED_REASON": ""}
    assert _deploy_check_ids(settings, **signing, SWAP_C2PA_PRIVATE_KEY=good_key) == set()
    assert _deploy_check_ids(settings, **signing, SWAP_C2PA_PRIVATE_KEY=other_key) == {"E003"}


def test_a_declared_proxy_may_set_the_forwarded_header(settings):
    header = ("HTTP_X_FORWARDED_PROTO", "https")
    proxy = {"BEHIND_PROXY": True, "CLIENT_IP_HEADER": "X-Forwarded-For"}
    assert _deploy_check_ids(settings, SECURE_PROXY_SSL_HEADER=header, **proxy) == set()


def test_the_transparency_page_says_whether_outputs_are_signed_and_why_not(db, client, settings):
    settings.SWAP_C2PA_CERT_CHAIN, settings.SWAP_C2PA_PRIVATE_KEY = "", ""
    settings.C2PA_DISABLED_REASON = "Our signing certificate is being renewed <until May>."
    unsigned = client.get("/transparency/").content.decode()
    settings.SWAP_C2PA_CERT_CHAIN, settings.SWAP_C2PA_PRIVATE_KEY = "chain", "key"
    signed = client.get("/transparency/").content.decode()

    assert "currently not signed with C2PA" in unsigned
    assert "Our signing certificate is being renewed &lt;until May&gt;." in unsigned
    assert "Every swap result carries signed C2PA Content Credentials" in signed
    assert "being renewed" not in signed


def test_with_credentials_set_a_c2pa_that_does_not_load_is_an_error_not_an_unsigned_output(
    tmp_path,
):
    """Outside production too: the swap service's credentials lookup raises rather than
    returning "no credentials", which would let a result go out unsigned."""
    broken = tmp_path / "site" / "c2pa"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('libc2pa_c.so: cannot open')\n")
    chain, key = _c2pa_files(tmp_path)
    ask = (
        "from swap.selectors import c2pa_credentials\n"
        "try:\n    c2pa_credentials()\nexcept Exception as exc:\n"
        "    print(type(exc).__name__, exc)\nelse:\n    print('unsigned')"
    )
    test_settings = {
        "DJANGO_SETTINGS_MODULE": "compliance_site.settings.test",
        "FACELEDGER_VAR_DIR": str(tmp_path / "var"),
        "SWAP_C2PA_CERT_CHAIN_FILE": str(chain),
        "SWAP_C2PA_PRIVATE_KEY_FILE": str(key),
        "PYTHONPATH": str(tmp_path / "site"),
    }
    result = _manage("shell", "-c", ask, extra_env=test_settings)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("C2paSetupError")
