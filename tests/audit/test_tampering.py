"""audit_verify catches what a database superuser changes after disabling the triggers."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.leaves import leaf_bytes_for, leaf_hash
from audit.models import AuditEvent, AuditLeaf
from audit.services import audit_seal, pseudonym_erase
from audit.verification import audit_log_verify
from tests.audit import helpers
from tests.audit.helpers import record_events

pytestmark = pytest.mark.django_db

TABLES = ("audit_auditevent", "audit_auditleaf", "audit_auditnode", "audit_auditcheckpoint")


def disable_triggers() -> None:
    helpers.disable_triggers(TABLES)


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def event_at(index: int) -> AuditEvent:
    return AuditLeaf.objects.select_related("event").get(index=index).event


@pytest.fixture
def log(alice):
    """8 events, a checkpoint after each one."""
    for number in range(8):
        record_events(1, subject=alice, start=number)
        audit_seal()
    call_command("audit_verify")
    disable_triggers()


def assert_caught(index: int) -> None:
    with pytest.raises(CommandError, match=f"first bad index {index}\\)"):
        call_command("audit_verify")


@pytest.mark.parametrize(
    "column, value",
    [
        ("time", "time"),
        ("actor", "'staff:1'"),
        ("subject", "'0123456789abcdef0123456789abcdef'"),
        ("action", "action + 1"),
        ("object_type", "'capture'"),
        ("object_id", "'other'"),
        ("purpose", "'face_swap'"),
        ("data_jcs", "'{\"n\":99}'"),
        ("request_id", "'5d3c1f0e-0000-4000-8000-000000000000'"),
    ],
)
def test_modifying_any_column_of_an_event_is_caught_with_its_index(log, column, value):
    event = event_at(3)
    if column == "time":
        event.time = event.time.replace(microsecond=(event.time.microsecond + 1) % 10**6)
        sql("UPDATE audit_auditevent SET time = %s WHERE id = %s", [event.time, event.pk])
    else:
        sql(f"UPDATE audit_auditevent SET {column} = {value} WHERE id = %s", [event.pk])
    assert_caught(3)


def test_a_rewrite_that_also_fixes_the_leaf_hash_is_caught_by_the_signed_roots(log):
    event = event_at(5)
    sql("UPDATE audit_auditevent SET purpose = 'rewritten' WHERE id = %s", [event.pk])
    event.refresh_from_db()
    sql(
        'UPDATE audit_auditleaf SET leaf_hash = %s WHERE "index" = 5',
        [leaf_hash(leaf_bytes_for(event, 5))],
    )
    assert_caught(5)


def test_a_forged_leaf_hash_is_caught(log):
    sql('UPDATE audit_auditleaf SET leaf_hash = %s WHERE "index" = 2', [b"\x00" * 32])
    assert_caught(2)


def test_a_deleted_event_is_caught(log):
    event = event_at(4)
    sql('DELETE FROM audit_auditleaf WHERE "index" = 4')
    sql("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert_caught(4)


def test_an_event_deleted_under_its_leaf_is_caught(log):
    event = event_at(6)
    sql("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert_caught(6)
    event.save(force_insert=True)  # the deferred foreign-key check at teardown wants it back


def test_deleting_the_newest_event_is_caught(log):
    event = event_at(7)
    sql('DELETE FROM audit_auditleaf WHERE "index" = 7')
    sql("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert_caught(7)


def test_reordered_events_are_caught(log):
    two, five = event_at(2), event_at(5)
    sql('UPDATE audit_auditleaf SET event_id = %s WHERE "index" = 2', [-1])
    sql('UPDATE audit_auditleaf SET event_id = %s WHERE "index" = 5', [two.pk])
    sql('UPDATE audit_auditleaf SET event_id = %s WHERE "index" = 2', [five.pk])
    assert_caught(2)


def _insert_event_like(template: AuditEvent, object_id: str) -> AuditEvent:
    forged = AuditEvent(
        time=template.time,
        actor=template.actor,
        subject=template.subject,
        action=template.action,
        object_type="test",
        object_id=object_id,
        data_jcs="{}",
        request_id="",
    )
    forged.save(force_insert=True)
    return forged


def test_an_event_inserted_into_the_middle_with_recomputed_hashes_is_caught(log):
    forged = _insert_event_like(event_at(3), "forged")
    moved = list(AuditLeaf.objects.filter(index__gte=3).order_by("-index").select_related("event"))
    for leaf in moved:  # shift everything from 3 on by one, rehashing as a careful forger would
        sql(
            'UPDATE audit_auditleaf SET "index" = %s, leaf_hash = %s WHERE "index" = %s',
            [leaf.index + 1, leaf_hash(leaf_bytes_for(leaf.event, leaf.index + 1)), leaf.index],
        )
    AuditLeaf.objects.create(index=3, event=forged, leaf_hash=leaf_hash(leaf_bytes_for(forged, 3)))
    assert_caught(3)


def test_an_event_appended_with_a_leaf_but_no_checkpoint_is_caught(log):
    forged = _insert_event_like(event_at(7), "appended")
    AuditLeaf.objects.create(index=8, event=forged, leaf_hash=leaf_hash(leaf_bytes_for(forged, 8)))
    assert_caught(8)


def test_an_event_slipped_in_before_the_last_seal_without_a_leaf_is_caught(log):
    forged = _insert_event_like(event_at(0), "slipped")
    if connection.vendor == "postgresql":
        sql("UPDATE audit_auditevent SET txid = 1 WHERE id = %s", [forged.pk])
    else:
        sql("UPDATE audit_auditevent SET id = 1000000 WHERE id = %s", [forged.pk])
        sql("UPDATE audit_auditevent SET id = 0 WHERE id = 1000000")
    result = audit_log_verify()
    assert not result.ok
    assert "predates the last seal" in str(result.first_problem)


def test_erasing_a_pseudonym_leaves_the_log_verifiable(log, alice):
    pseudonym_erase(subject_id=alice.pk)
    result = audit_log_verify()
    assert result.ok and result.tree_size == 8
    call_command("audit_verify")
