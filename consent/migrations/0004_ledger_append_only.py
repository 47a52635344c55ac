"""Published policies and consent records cannot be rewritten (invariants "gate" and "minimum-data", docs/ARCHITECTURE.md).

Both databases refuse UPDATE of a consent record, a published policy version or its text.
PostgreSQL also refuses DELETE of published policies (row trigger; records stay deletable,
because erasure removes them). SQLite cannot tell a test-suite flush from any other DELETE, so
there published policies are kept by the PROTECT foreign keys of the records citing them and
by an admin that offers no delete.
"""

from django.db import migrations

from compliance_site import append_only

NO_UPDATE = ("consent_consentrecord", "consent_policyversion", "consent_policytext")
NO_DELETE_PG = ("consent_policyversion", "consent_policytext")
REFUSE = {
    "function": "consent_refuse_change",
    "postgresql": {t: ("UPDATE", "DELETE") if t in NO_DELETE_PG else ("UPDATE",) for t in NO_UPDATE},
    "sqlite": {table: ("UPDATE",) for table in NO_UPDATE},
}


def install(apps, schema_editor):
    append_only.install(schema_editor, what="consent ledger", **REFUSE)


def uninstall(apps, schema_editor):
    append_only.uninstall(schema_editor, **REFUSE)


class Migration(migrations.Migration):
    dependencies = [("consent", "0003_ledger")]

    operations = [migrations.RunPython(install, uninstall)]
