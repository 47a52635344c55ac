"""Captures in the staff admin: that they exist, when, and whether liveness passed. Never the
photo, the embedding, the landmarks or the liveness scores: those columns are not even read.
Challenges and subject keys are not registered at all."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from biometrics.models import Capture
from biometrics.selectors import capture_expires_at, capture_retention
from consent.services import staff_view_record

# The only columns the admin reads: none of them holds biometric data.
_SHOWN = ("id", "subject", "created_at", "last_used_at", "engine", "liveness")


@admin.register(Capture)
class CaptureAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deletion is the subject's (or retention's, or erasure's), through the services.
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        with transaction.atomic():
            response = super().change_view(request, object_id, form_url, extra_context)
            capture = self.get_object(request, unquote(object_id))
            if response.status_code == 200 and capture is not None:
                staff_view_record(staff=request.user, subject=capture.subject)
        return response
