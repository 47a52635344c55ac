"""Admin of report jobs (the support role)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import F

from compliance_site.admin import ReadOnly, RequestDeadline, StaffViewAudited
from consent.reports.models import ReportJob


@admin.register(ReportJob)
class ReportJobAdmin(RequestDeadline, StaffViewAudited, ReadOnly, admin.ModelAdmin):
    """Access requests made in the background, with their one-month deadline
    (``RequestDeadline``; a failed job is not an answer). The report itself (encrypted under
    the subject's key) is never shown here."""

    list_display = (
        "id",
        "subject_id",
        "status",
        "progress",
        "requested_at",
        "due",
        "days_left",
        "deadline",
        "expires_at",
    )
    list_filter = ("status",)
    # The queue: open requests first, the oldest (fewest days left) at the top.
    # Django takes expressions here; the stubs admit strings only.
    ordering = (F("completed_at").asc(nulls_first=True), "requested_at")  # type: ignore[assignment]

    def request_done_at(self, obj: ReportJob):
        return obj.completed_at if obj.status == ReportJob.Status.DONE else None

    fields = (
        "id",
        "subject",
        "language",
        "status",
        "progress",
        "events",
        "requested_at",
        "completed_at",
        "expires_at",
        "error",
    )
    readonly_fields = fields
