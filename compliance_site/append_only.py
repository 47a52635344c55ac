"""Database triggers that make tables append-only, for migrations (PostgreSQL and SQLite).

A database superuser can still drop them; what relies on them (the audit log) also verifies
its contents cryptographically.
"""

from __future__ import annotations

from collections.abc import Mapping

# Which operations to refuse, per table: e.g. {"audit_auditevent": ("UPDATE", "DELETE")}.
Refusals = Mapping[str, tuple[str, ...]]

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{what} is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def _run(schema_editor, sql: str) -> None:
    # params=None: the SQL has literal "%" (RAISE format) that must not be read as placeholders.
    schema_editor.execute(sql, params=None)


def install(schema_editor, *, function: str, what: str, postgresql: Refusals, sqlite: Refusals):
    """Refuse the named operations (UPDATE, DELETE, TRUNCATE on PostgreSQL) on each table."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, _PG_FUNCTION.format(function=function, what=what))
        for table, ops in postgresql.items():
            row_ops = [op for op in ops if op != "TRUNCATE"]
            if row_ops:
                _run(
                    schema_editor,
                    f"CREATE TRIGGER {table}_no_change BEFORE {' OR '.join(row_ops)} ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION {function}()",
                )
            if "TRUNCATE" in ops:
                _run(
                    schema_editor,
                    f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
                )
    elif vendor == "sqlite":
        for table, ops in sqlite.items():
            for op in ops:
                _run(
                    schema_editor,
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{what} is append-only: {op} on {table} "
                    "refused'); END",
                )
    else:  # pragma: no cover - the project runs on PostgreSQL and SQLite only
        raise RuntimeError(f"no append-only triggers for {vendor}")


def uninstall(schema_editor, *, function: str, postgresql: Refusals, sqlite: Refusals):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table in postgresql:
            _run(schema_editor, f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
            _run(schema_editor, f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        _run(schema_editor, f"DROP FUNCTION IF EXISTS {function}()")
    elif vendor == "sqlite":
        for table, ops in sqlite.items():
            for op in ops:
                _run(schema_editor, f"DROP TRIGGER IF EXISTS {table}_no_{op.lower()}")
