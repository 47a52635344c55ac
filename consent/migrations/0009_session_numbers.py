import uuid
from importlib import import_module

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Where the portal kept numbers in sessions before they moved to SessionNumber.
_OLD_KEYS = ("consent.login.phone", "consent.guardian")


def strip_numbers_from_sessions(apps, schema_editor):
    """Sessions stored before this migration may hold a number that erasure cannot find: take
    it out (the visitor asks for a code again)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store, "get_model_class"):
        return  # cookie or cache sessions: nothing stored here to clean
    session = apps.get_model("sessions", "Session")
    for row in session.objects.using(schema_editor.connection.alias).iterator():
        data = store().decode(row.session_data)
        if any(key in data for key in _OLD_KEYS):
            for key in _OLD_KEYS:
                data.pop(key, None)
            row.session_data = store().encode(data)
            row.save(update_fields=["session_data"])


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0008_otp_binding'),
        ('sessions', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SessionNumber',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('kind', models.CharField(choices=[('login', 'sign-in'), ('guardian', 'parent or guardian')], editable=False, max_length=8)),
                ('phone_number', models.CharField(editable=False, max_length=16)),
                ('phone_digest', models.CharField(db_index=True, editable=False, max_length=64)),
                ('purpose', models.CharField(blank=True, editable=False, max_length=64)),
                ('expires_at', models.DateTimeField(db_index=True, editable=False)),
                ('subject', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'number held for a sign-in',
            },
        ),
        migrations.RunPython(strip_numbers_from_sessions, migrations.RunPython.noop),
    ]
