"""Captures in the staff admin: that they exist, when, and whether liveness passed. Never the
photo, the embedding, the landmarks or the liveness scores: those columns are not even read.
Challenges and subject keys are not registered at all."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from biometrics.models import Capture
from biometrics.selectors import capture_expires_at, capture_retention
from compliance_site.admin import ReadOnly, StaffViewAudited

# The only columns the admin reads: none of them holds biometric data.
_SHOWN = ("id", "subject", "created_at", "last_used_at", "engine", "liveness")


@admin.register(Capture)
class CaptureAdmin(StaffViewAudited, ReadOnly, admin.ModelAdmin):
    list_display = ("id", "subject_id", "created_at", "last_used_at", "liveness_passed")
    list_filter = ("engine",)
    ordering = ("-created_at",)
    raw_id_fields = ("subject",)
    fields = (
        "id",
        "subject",
        "created_at",
        "last_used_at",
        "kept_until",
        "engine",
        "liveness_passed",
        "liveness_steps",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).only(*_SHOWN)

    @admin.display(boolean=True, description=_("liveness passed"))
    def liveness_passed(self, obj: Capture) -> bool:
        return bool((obj.liveness or {}).get("passed"))

    @admin.display(description=_("liveness steps"))
    def liveness_steps(self, obj: Capture) -> str:
        steps = (obj.liveness or {}).get("steps", [])
        return ", ".join(str(s.get("step", "")) if isinstance(s, dict) else str(s) for s in steps)

    @admin.display(description=_("kept until"))
    def kept_until(self, obj: Capture):
        return capture_expires_at(obj, capture_retention())
