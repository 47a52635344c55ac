import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "compliance_site.settings.local")

app = Celery("faceledger")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The project package is not an installed app: its tasks (jobs_recover) are found here.
app.autodiscover_tasks(["compliance_site"])


@worker_init.connect
def _refuse_a_versioned_bucket(**_kwargs: object) -> None:
    """Workers run no system checks: a bucket that keeps object versions stops them here
    (SystemExit: Celery logs and ignores an ordinary exception from a signal handler)."""
    from compliance_site.storage import bucket_problem

    problem = bucket_problem()
    if problem:
        raise SystemExit(f"Refusing to start: {problem}.")
