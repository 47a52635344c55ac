"""Celery's autodiscovery imports ``<app>.tasks``: this loads each sub-domain's tasks. The task
names stay ``consent.tasks.<name>`` (queued messages and the beat schedule use them)."""

from consent.erasure import tasks as erasure_tasks
from consent.identity import tasks as identity_tasks
from consent.reports import tasks as reports_tasks

__all__ = ["erasure_tasks", "identity_tasks", "reports_tasks"]
