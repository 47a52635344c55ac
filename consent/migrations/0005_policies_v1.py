"""Publish version 1 of the three purposes' texts (consent/ledger/policies/v1, English and Chinese)."""

from django.db import migrations
from django.utils import timezone

from consent.ledger.policies import seed_v1


def publish_v1(apps, schema_editor):
    seed_v1(
        purpose_model=apps.get_model("consent", "Purpose"),
        version_model=apps.get_model("consent", "PolicyVersion"),
        text_model=apps.get_model("consent", "PolicyText"),
        now=timezone.now(),
    )


class Migration(migrations.Migration):
    dependencies = [("consent", "0004_ledger_append_only")]

    # No reverse: published texts are never unpublished (the tables are dropped by 0003's).
    operations = [migrations.RunPython(publish_v1, migrations.RunPython.noop)]
