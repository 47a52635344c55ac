import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "compliance_site.settings.local")

app = Celery("faceledger")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The project package is not an installed app: its tasks (jobs_recover) are found here.
app.autodiscover_tasks(["compliance_site"])
