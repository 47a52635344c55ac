import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from compliance_site import env

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
    ours = ("DJANGO_", "AUDIT_", "BIOMETRIC_", "BACKUP_", "CONTROLLER_", "PUBLIC_BASE_URL")
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


def _production_env(tmp_path):
    key = tmp_path / "audit.pem"
    key.write_text(
        "-----BEGIN PRIVATE KEY-----\n"
        "MC4CAQAwBQYDK2VwBCIEIGyAvoih7e/j5cYWgB7Q7G1u4ZBqTIxhdNkmHKnqIJ4b\n"
        "-----END PRIVATE KEY-----\n"
    )
    return {
        "DJANGO_SETTINGS_MODULE": "compliance_site.settings.production",
        "DJANGO_SECRET_KEY": "x" * 20 + "-production-like-secret-" + "y" * 30,
        "DJANGO_ALLOWED_HOSTS": "faceledger.example",
        "AUDIT_SIGNING_KEY_FILE": str(key),
        "AUDIT_LOG_ID": "faceledger-prod",
        "BIOMETRIC_KEY_STORE": str(_key_store(tmp_path / "keys")),
        "BACKUP_RETENTION_DAYS": "35",
        "FACELEDGER_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CONTROLLER_NAME": "Faceledger Ltd",
        "CONTROLLER_ADDRESS": "1 Example Street, London",
        "CONTROLLER_EMAIL": "privacy@faceledger.example",
        "CONTROLLER_JURISDICTION": "GB",
        "PUBLIC_BASE_URL": "https://faceledger.example",
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
        "AUDIT_SIGNING_KEY_FILE",
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


def test_production_refuses_to_start_without_a_safe_key_store(tmp_path):
    production = _production_env(tmp_path)
    store = Path(production["BIOMETRIC_KEY_STORE"])
    store.chmod(0o755)  # readable by other users

    unsafe = _manage("check", "--deploy", extra_env=production)
    production["BIOMETRIC_KEY_STORE"] = str(tmp_path / "not-mounted")
    missing = _manage("check", "--deploy", extra_env=production)

    assert unsafe.returncode != 0 and "faceledger.E102" in unsafe.stderr
    assert missing.returncode != 0 and "faceledger.E101" in missing.stderr
