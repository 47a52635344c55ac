"""Publish version 2 of the three purposes' texts (consent/ledger/policies/v2, English and
Chinese): what each withdrawal erases, what remains, and when the data key is destroyed.

Published as publishing does (``consent.ledger.policies.version_publish``, the function the
DPO's ``policy_publish`` uses): each becomes its purpose's next, current version, so every
grant of version 1 is outdated from now on and the gate refuses it until the person consents
to the new text. As for version 1, no audit event is written here (a migration runs before
the log's writers can be used safely with historical models): the texts ship with the code,
their SHA-256 are pinned in tests/consent/ledger/test_ledger_policies.py, and each grant's
receipt names the version and SHA-256 it was given to."""

from django.db import migrations
from django.utils import timezone

from consent.ledger.policies import publish_shipped


def publish_v2(apps, schema_editor):
    publish_shipped(
        2,
        purpose_model=apps.get_model("consent", "Purpose"),
        version_model=apps.get_model("consent", "PolicyVersion"),
        text_model=apps.get_model("consent", "PolicyText"),
        now=timezone.now(),
    )


class Migration(migrations.Migration):
    dependencies = [("consent", "0013_ledger_age_and_guardian")]

    # No reverse: published texts are never unpublished.
    operations = [migrations.RunPython(publish_v2, migrations.RunPython.noop)]
