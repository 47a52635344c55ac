"""Make the audit tables append-only at the database level (invariant "append-only", docs/ARCHITECTURE.md).

PostgreSQL: a row trigger refuses UPDATE and DELETE, a statement trigger refuses TRUNCATE.
SQLite: triggers RAISE(ABORT) on UPDATE and DELETE (SQLite has no TRUNCATE).
A database superuser can still drop the triggers; ``audit_verify`` catches what they then change.

Future migrations: on SQLite, altering one of these tables rebuilds it and so drops its
triggers. Such a migration must re-create them (call ``install`` again after it).
"""

from django.db import migrations

from compliance_site import append_only

TABLES = ("audit_auditevent", "audit_auditleaf", "audit_auditnode", "audit_auditcheckpoint")
REFUSE = {
    "function": "audit_refuse_change",
    "postgresql": {table: ("UPDATE", "DELETE", "TRUNCATE") for table in TABLES},
    "sqlite": {table: ("UPDATE", "DELETE") for table in TABLES},
}


def install(apps, schema_editor):
    append_only.install(schema_editor, what="audit log", **REFUSE)


def uninstall(apps, schema_editor):
    append_only.uninstall(schema_editor, **REFUSE)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
