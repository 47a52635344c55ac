from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection


@pytest.fixture
def on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")


@pytest.fixture
def on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")


@pytest.fixture
def genuine(tmp_path, alice):
    """A genuine auditor bundle of five sealed events, as `audit_export` writes it."""
    from audit.services import audit_seal
    from tests.audit.helpers import record_events

    record_events(5, subject=alice)
    audit_seal()
    path = tmp_path / "audit.zip"
    call_command("audit_export", "--output", str(path))
    return path
