"""The service's database role can append to the audit log and read it, but not change it:
UPDATE, DELETE, TRUNCATE, ALTER and dropping or disabling the triggers are refused by
PostgreSQL's privileges, not only by the triggers (which the table's owner could drop)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.db_roles import grant_service_role
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import audit_seal
from audit.testing import APPEND_ONLY_TABLES
from tests.audit.helpers import record_events

pytestmark = pytest.mark.django_db

ROLE = "faceledger_test_service"


@pytest.fixture
def as_service_role(on_postgresql):
    """A fresh role with the service's grants, taken for the rest of the test's transaction
    (created inside it, so it is gone afterwards)."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {ROLE} NOLOGIN")
    grant_service_role(connection, ROLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {ROLE}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


def refused(statement: str) -> str:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    except DatabaseError as exc:
        return str(exc)
    return ""


def test_the_service_role_appends_seals_and_reads(as_service_role, alice):
    record_events(3, subject=alice)
    checkpoint = audit_seal()
    assert (
        checkpoint is not None and checkpoint.tree_size == AuditCheckpoint.objects.last().tree_size
    )
    assert AuditEvent.objects.count() >= 3


@pytest.mark.parametrize("table", sorted(APPEND_ONLY_TABLES))
@pytest.mark.parametrize(
    "statement, refusal",
    [
        ("UPDATE {t} SET {c} = {c}", "permission denied"),
        ("DELETE FROM {t}", "permission denied"),
        ("TRUNCATE {t}", "permission denied"),
        ("ALTER TABLE {t} DISABLE TRIGGER USER", "must be owner"),
        ("DROP TRIGGER {t}_no_change ON {t}", "must be owner"),
        ("ALTER TABLE {t} ADD COLUMN sneaky integer", "must be owner"),
        ("DROP TABLE {t}", "must be owner"),
        (
            "CREATE TRIGGER sneaky BEFORE INSERT ON {t} FOR EACH ROW "
            "EXECUTE FUNCTION audit_refuse_change()",
            "permission denied",
        ),
    ],
)
def test_the_service_role_is_refused(as_service_role, alice, table, statement, refusal):
    record_events(1, subject=alice)
    audit_seal()
    column = '"index"' if table == "audit_auditleaf" else "id"
    assert refusal in refused(statement.format(t=table, c=column))
