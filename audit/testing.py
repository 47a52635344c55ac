"""Test support: keep test-database flushes away from the append-only tables.

``TransactionTestCase`` (``django_db(transaction=True)``) empties every table after each test;
the audit triggers rightly refuse that. The flush used by the test suite leaves the audit tables
alone instead, so transactional tests see events left by earlier ones: filter by what the test
itself wrote.
"""

from __future__ import annotations

from audit.models import APPEND_ONLY_MODELS

APPEND_ONLY_TABLES = frozenset(model._meta.db_table for model in APPEND_ONLY_MODELS)


def sql_flush_keeping_audit(style, connection, reset_sequences=True, allow_cascade=False):
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    tables = [table for table in tables if table not in APPEND_ONLY_TABLES]
    return connection.ops.sql_flush(
        style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
    )
