"""Make the audit tables append-only at the database level (DESIGN invariant 3).

PostgreSQL: a row trigger refuses UPDATE and DELETE, a statement trigger refuses TRUNCATE.
SQLite: triggers RAISE(ABORT) on UPDATE and DELETE (SQLite has no TRUNCATE).
A database superuser can still drop the triggers; ``audit_verify`` catches what they then change.

Future migrations: on SQLite, altering one of these tables rebuilds it and so drops its
triggers. Such a migration must re-create them (call ``install`` again after it).
"""

from django.db import migrations

TABLES = ("audit_auditevent", "audit_auditleaf", "audit_auditnode", "audit_auditcheckpoint")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def _runner(schema_editor):
    # params=None: the SQL has literal "%" (RAISE format) that must not be read as placeholders.
    return lambda sql: schema_editor.execute(sql, params=None)


def install(apps, schema_editor):
    run = _runner(schema_editor)
    if schema_editor.connection.vendor == "postgresql":
        run(PG_FUNCTION)
        for table in TABLES:
            run(
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
            )
            run(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
            )
    elif schema_editor.connection.vendor == "sqlite":
        for table in TABLES:
            for op in ("UPDATE", "DELETE"):
                run(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only: {op} on {table} "
                    "refused'); END"
                )
    else:  # pragma: no cover - the project runs on PostgreSQL and SQLite only
        raise RuntimeError(f"no append-only triggers for {schema_editor.connection.vendor}")


def uninstall(apps, schema_editor):
    run = _runner(schema_editor)
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            run(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
            run(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        run("DROP FUNCTION IF EXISTS audit_refuse_change()")
    elif schema_editor.connection.vendor == "sqlite":
        for table in TABLES:
            for op in ("update", "delete"):
                run(f"DROP TRIGGER IF EXISTS {table}_no_{op}")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
