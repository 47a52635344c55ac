"""Invariant "append-only" (docs/ARCHITECTURE.md): the audit tables refuse UPDATE, DELETE and
TRUNCATE in the database."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditCheckpoint, AuditEvent, AuditLeaf, AuditNode
from audit.services import audit_seal
from tests.audit.helpers import record_events

pytestmark = pytest.mark.django_db

TABLES = [m._meta.db_table for m in (AuditEvent, AuditLeaf, AuditNode, AuditCheckpoint)]
STATEMENTS = {
    "audit_auditevent": "UPDATE audit_auditevent SET actor = 'forged'",
    "audit_auditleaf": "UPDATE audit_auditleaf SET leaf_hash = leaf_hash",
    "audit_auditnode": "UPDATE audit_auditnode SET idx = idx",
    "audit_auditcheckpoint": "UPDATE audit_auditcheckpoint SET tree_size = 0",
}


@pytest.fixture(autouse=True)
def sealed_log():
    record_events(4)
    audit_seal()
    assert AuditNode.objects.exists()


def _refused(sql: str) -> None:
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)


@pytest.mark.parametrize("table", TABLES)
def test_raw_update_of_an_audit_table_is_refused(table):
    _refused(STATEMENTS[table])


@pytest.mark.parametrize("table", TABLES)
def test_raw_delete_from_an_audit_table_is_refused(table):
    _refused(f"DELETE FROM {table}")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        assert cursor.fetchone()[0] > 0


@pytest.mark.parametrize("table", TABLES)
def test_truncate_of_an_audit_table_is_refused(on_postgresql, table):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE waits for no deferred check
    _refused(f"TRUNCATE {table} CASCADE")


def test_orm_updates_and_deletes_are_refused_too():
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.update(purpose="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditCheckpoint.objects.all().delete()
    assert not AuditEvent.objects.filter(purpose="rewritten").exists()
