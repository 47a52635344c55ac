from django.db import migrations, models


def number_windows_count_all_networks(apps, schema_editor):
    """A number's send window made before this migration counted sends from every network,
    keyed by the number's digest: it is the new all-networks window, and erasure finds it by
    that digest. ("number" now counts one network, under another key.)"""
    window = apps.get_model("consent", "SendWindow")
    rows = window.objects.using(schema_editor.connection.alias).filter(scope="number")
    for row in rows:
        row.scope, row.phone_digest = "number_total", row.key
        row.save(update_fields=["scope", "phone_digest"])


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0010_user_reveal_phone_number_permission'),
    ]

    operations = [
        migrations.AddField(
            model_name='sendwindow',
            name='phone_digest',
            field=models.CharField(blank=True, db_index=True, default='', max_length=64),
        ),
        migrations.AlterField(
            model_name='sendwindow',
            name='scope',
            field=models.CharField(choices=[('number', 'Number'), ('number_total', 'Number Total'), ('ip', 'Ip'), ('prefix', 'Prefix')], max_length=16),
        ),
        migrations.RunPython(number_windows_count_all_networks, migrations.RunPython.noop),
        migrations.CreateModel(
            name='CodeAttempts',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('phone_digest', models.CharField(editable=False, max_length=64)),
                ('network', models.CharField(blank=True, editable=False, max_length=64)),
                ('failures', models.PositiveIntegerField(default=0)),
                ('last_failure', models.DateTimeField(blank=True, null=True)),
                ('hits', models.JSONField(default=list)),
                ('expires_at', models.DateTimeField(db_index=True)),
            ],
            options={
                'verbose_name': 'sign-in code attempts',
                'constraints': [models.UniqueConstraint(fields=('phone_digest', 'network'), name='consent_codeattempts_number_network')],
            },
        ),
    ]
