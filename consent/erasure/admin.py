"""Admin of erasure requests (the support role)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from compliance_site.admin import ReadOnly, RequestDeadline, StaffViewAudited
from consent.erasure.models import ErasureRequest
from consent.identity.models import User

# --- data-subject requests (the support role) ---------------------------------------------------


@admin.register(ErasureRequest)
class ErasureRequestAdmin(RequestDeadline, StaffViewAudited, ReadOnly, admin.ModelAdmin):
    """Erasures run by themselves (``consent.erasure``); staff follow them against the
    one-month deadline (``RequestDeadline``: the queue, open ones first, with days left). The
    status token is never shown (only its digest is kept)."""

    list_display = (
        "id",
        "status",
        "requested_at",
        "due",
        "days_left",
        "deadline",
        "completed_at",
        "days_taken",
    )
    list_filter = ("status",)
    # The queue: open requests first, the oldest (fewest days left) at the top.
    # Django takes expressions here; the stubs admit strings only.
    ordering = (F("completed_at").asc(nulls_first=True), "requested_at")  # type: ignore[assignment]
    fields = ("id", "status", "subject_ref", "requested_at", "completed_at", "progress")
    readonly_fields = fields

    @admin.display(description=_("days taken"))
    def days_taken(self, obj: ErasureRequest) -> str:
        end = obj.completed_at or timezone.now()
        return f"{(end - obj.requested_at).total_seconds() / 86400:.1f}"

    def subject_of(self, obj: ErasureRequest) -> User | None:
        return User.objects.filter(pk=obj.subject_ref).first() if obj.subject_ref else None
