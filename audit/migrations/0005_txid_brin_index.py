"""The sealer's txid index becomes a BRIN on PostgreSQL and goes on SQLite (see the model).

Only the indexes change, by name: no table is altered, so SQLite rebuilds none and the
append-only triggers stay.
"""

from django.db import migrations, models

BTREE = "audit_auditevent_txid_c236bb17"  # the index db_index=True made (0001)
BRIN = "audit_event_txid_brin"


def forwards(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {BTREE}")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX {BRIN} ON audit_auditevent USING brin (txid)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {BRIN}")
    schema_editor.execute(f"CREATE INDEX {BTREE} ON audit_auditevent (txid)")


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_checkpoint_key_id")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="txid",
                    field=models.BigIntegerField(blank=True, editable=False, null=True),
                )
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
