"""Published policies and consent records cannot be rewritten (DESIGN invariants 1 and 10).

Both databases refuse UPDATE of a consent record, a published policy version or its text.
PostgreSQL also refuses DELETE of published policies (row trigger; records stay deletable,
because erasure removes them). SQLite cannot tell a test-suite flush from any other DELETE, so
there published policies are kept by the PROTECT foreign keys of the records citing them and
by an admin that offers no delete.
"""

from django.db import migrations

NO_UPDATE = ("consent_consentrecord", "consent_policyversion", "consent_policytext")
NO_DELETE_PG = ("consent_policyversion", "consent_policytext")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION consent_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
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
        for table in NO_UPDATE:
            op = "UPDATE OR DELETE" if table in NO_DELETE_PG else "UPDATE"
            run(
                f"CREATE TRIGGER {table}_no_change BEFORE {op} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION consent_refuse_change()"
            )
    elif schema_editor.connection.vendor == "sqlite":
        for table in NO_UPDATE:
            run(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'consent ledger is append-only: UPDATE on {table} "
                "refused'); END"
            )
    else:  # pragma: no cover - the project runs on PostgreSQL and SQLite only
        raise RuntimeError(f"no append-only triggers for {schema_editor.connection.vendor}")


def uninstall(apps, schema_editor):
    run = _runner(schema_editor)
    if schema_editor.connection.vendor == "postgresql":
        for table in NO_UPDATE:
            run(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
        run("DROP FUNCTION IF EXISTS consent_refuse_change()")
    elif schema_editor.connection.vendor == "sqlite":
        for table in NO_UPDATE:
            run(f"DROP TRIGGER IF EXISTS {table}_no_update")


class Migration(migrations.Migration):
    dependencies = [("consent", "0003_ledger")]

    operations = [migrations.RunPython(install, uninstall)]
