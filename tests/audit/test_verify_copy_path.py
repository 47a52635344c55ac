"""On PostgreSQL, ``audit_log_verify`` has the database rebuild and hash each leaf from its
event's stored columns (``audit.copy_rows``): every character an event may hold must come out as
``audit.leaves`` makes it (and on SQLite the same events go through the ORM path)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from audit import verification
from audit.actions import AuditAction
from audit.services import audit_record, audit_seal
from audit.verification import audit_log_verify

pytestmark = pytest.mark.django_db

AWKWARD = [
    "tab\there",
    "new\nline\r\n",
    "back\\slash \\N \\x41 \\101",
    'quote " and \\"',
    "unicode é 字 \U0001f600",
    "controls \x01\x08\x0b\x0c\x1f and del \x7f",
    "\u2028\u2029 separators",
    "",
]


def test_events_with_awkward_characters_verify(alice):
    for number, text in enumerate(AWKWARD):
        with transaction.atomic():
            audit_record(
                actor=None,
                subject=alice if number % 2 else None,
                action=AuditAction.LOGIN,
                object_type=text[:64],
                object_id=text,
                purpose=text[:64],
                data={"text": text, "n": number, text or "empty": [text]},
            )
    audit_seal()
    result = audit_log_verify()
    assert result.ok, result.problems
    assert result.tree_size >= len(AWKWARD)
    if connection.vendor == "postgresql":  # the fast path itself, not its fallback
        _result, checker = verification._start([])
        assert checker.add_copied()
