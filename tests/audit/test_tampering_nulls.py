"""A database superuser can drop a column's NOT NULL and blank an event's column to NULL: the
log no longer says what happened, so ``audit_verify`` must fail, on the fast path as well."""

from __future__ import annotations

import pytest
from django.db import connection

from audit.models import AuditLeaf
from audit.services import audit_seal
from audit.verification import audit_log_verify
from tests.audit import helpers
from tests.audit.helpers import record_events

pytestmark = pytest.mark.django_db

TABLES = ("audit_auditevent", "audit_auditleaf", "audit_auditnode", "audit_auditcheckpoint")


@pytest.mark.parametrize(
    "column", ["action", "actor", "subject", "object_id", "purpose", "data_jcs", "request_id"]
)
def test_an_event_column_set_to_null_after_dropping_not_null_is_caught(
    on_postgresql, alice, column
):
    for number in range(4):
        record_events(1, subject=alice, start=number)
        audit_seal()
    assert audit_log_verify().ok
    helpers.disable_triggers(TABLES)
    event_id = AuditLeaf.objects.get(index=2).event_id
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE audit_auditevent ALTER COLUMN {column} DROP NOT NULL")
        cursor.execute(f"UPDATE audit_auditevent SET {column} = NULL WHERE id = %s", [event_id])
    result = audit_log_verify()
    assert not result.ok, f"{column} = NULL passed verification"
    assert result.first_problem is not None and result.first_problem.index == 2


def test_an_event_rewritten_whole_with_one_column_null_is_caught(on_postgresql, alice):
    # One NULL column makes the database's comparison NULL, which bool_and skips: every other
    # column is then free to say anything.
    for number in range(4):
        record_events(1, subject=alice, start=number)
        audit_seal()
    helpers.disable_triggers(TABLES)
    event_id = AuditLeaf.objects.get(index=1).event_id
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent ALTER COLUMN request_id DROP NOT NULL")
        cursor.execute(
            "UPDATE audit_auditevent SET request_id = NULL, action = action + 1, "
            "object_type = 'rewritten', data_jcs = '{\"forged\":true}' WHERE id = %s",
            [event_id],
        )
    result = audit_log_verify()
    assert not result.ok, "a rewritten event passed verification"
