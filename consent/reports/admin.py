"""Admin of report jobs (the support role)."""

from __future__ import annotations

from django.contrib import admin

from compliance_site.admin import ReadOnly, StaffViewAudited
from consent.reports.models import ReportJob


@admin.register(ReportJob)
class ReportJobAdmin(StaffViewAudited, ReadOnly, admin.ModelAdmin):
    """Access requests made in the background. The report itself (encrypted under the
    subject's key) is never shown here."""

    list_display = ("id", "subject_id", "status", "progress", "requested_at", "expires_at")
    list_filter = ("status",)
    ordering = ("-requested_at",)
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
