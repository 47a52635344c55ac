"""`make run` keeps what it writes to itself: the var folder is 0700 (an existing one is
tightened), the SQLite database 0600, SQLite overwrites what it deletes (secure_delete), and the
pre-key-store development master key is removed once the key store holds it as ``dev1``."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from django.db import connection

from compliance_site import keystore
from tests.compliance_site.test_settings import _manage

ASK = (
    "from django.conf import settings; from django.db import connection; "
    "cursor = connection.cursor(); cursor.execute('PRAGMA secure_delete'); "
    "print(cursor.fetchone()[0], settings.DATABASES['default']['NAME'])"
)
LEGACY_KEY = b"an-old-development-master-key!!!"


def _run_local(var):
    return _manage(
        "shell",
        "-c",
        ASK,
        extra_env={
            "DJANGO_SETTINGS_MODULE": "compliance_site.settings.local",
            "FACELEDGER_VAR_DIR": str(var),
        },
    )


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_local_settings_keep_var_the_database_and_deleted_rows_to_this_user(tmp_path):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)  # as an older checkout left it

    result = _run_local(var)

    assert result.returncode == 0, result.stderr
    secure_delete, database = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert secure_delete == "1"
    assert _mode(var) == 0o700
    assert database.startswith(str(var))
    assert _mode(Path(database)) == 0o600


def test_the_legacy_master_key_is_removed_once_the_key_store_holds_it(tmp_path):
    var = tmp_path / "var"
    (var / "keys").mkdir(parents=True)
    legacy = var / "keys" / "biometric_master_key"
    legacy.write_text(base64.b64encode(LEGACY_KEY).decode())

    result = _run_local(var)

    assert result.returncode == 0, result.stderr
    store = var / "keys" / "master"
    imported = keystore.get("dev1", store)
    assert imported is not None and imported.key == LEGACY_KEY
    assert not legacy.exists()

    assert keystore.destroy("dev1", path=store)
    everything = b"".join(p.read_bytes() for p in var.rglob("*") if p.is_file())
    assert LEGACY_KEY not in everything
    assert base64.b64encode(LEGACY_KEY) not in everything


def test_sqlite_connections_overwrite_what_they_delete(db):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL: VACUUM and backups are the operator's (README)")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA secure_delete")
        assert cursor.fetchone()[0] == 1
