"""Publish the purpose ``ephemeral_swap`` (a swap without enrolment: the photo and the video
checked in memory and destroyed, only the labelled result kept) with version 1 of its text
(consent/ledger/policies/v1/ephemeral_swap.*, English and Chinese).

Published as publishing does (``consent.ledger.policies.version_publish``, the function the
DPO's ``policy_publish`` uses), through ``publish_new_purposes``, which does nothing on a
database that already has the purpose. As for 0014, no audit event is written here: the texts
ship with the code and their SHA-256 are pinned in tests/consent/ledger/test_ledger_policies.py.
"""

from django.db import migrations
from django.utils import timezone

from consent.ledger.policies import publish_new_purposes


def publish_ephemeral_swap(apps, schema_editor):
    publish_new_purposes(
        purpose_model=apps.get_model("consent", "Purpose"),
        version_model=apps.get_model("consent", "PolicyVersion"),
        text_model=apps.get_model("consent", "PolicyText"),
        now=timezone.now(),
    )


class Migration(migrations.Migration):
    dependencies = [("consent", "0014_policies_v2_withdrawal_semantics")]

    # No reverse: published texts are never unpublished.
    operations = [migrations.RunPython(publish_ephemeral_swap, migrations.RunPython.noop)]
