"""The audit log in the staff admin: read-only. No add, change or delete, for anyone."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db import transaction

from audit.actions import AuditAction
from audit.models import AuditCheckpoint, AuditEvent, AuditLeaf, SubjectPseudonym
from audit.services import audit_record


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "time", "action_name", "actor", "subject", "object_type", "object_id")
    list_filter = ("action",)
    search_fields = ("subject", "actor", "object_id", "request_id")
    date_hierarchy = "time"
    ordering = ("-id",)


@admin.register(AuditLeaf)
class AuditLeafAdmin(ReadOnlyAdmin):
    list_display = ("index", "event_id", "leaf_hash_hex")
    ordering = ("-index",)
    raw_id_fields = ("event",)

    @admin.display(description="leaf hash")
    def leaf_hash_hex(self, obj: AuditLeaf) -> str:
        return bytes(obj.leaf_hash).hex()


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ("id", "tree_size", "root_hash", "timestamp", "log_id")
    ordering = ("-id",)


@dataclass(frozen=True)
class _Subject:
    pk: int


@admin.register(SubjectPseudonym)
class SubjectPseudonymAdmin(ReadOnlyAdmin):
    """Erasure deletes mappings through ``audit.services.pseudonym_erase``, not here. Opening
    one tells who is behind a pseudonym: a staff view of that person, audited."""

    list_display = ("pseudonym", "subject_id", "created_at")
    search_fields = ("pseudonym",)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        with transaction.atomic():
            response = super().change_view(request, object_id, form_url, extra_context)
            row = self.get_object(request, unquote(object_id))
            if response.status_code == 200 and row is not None:
                audit_record(
                    actor=request.user,
                    subject=_Subject(row.subject_id),
                    action=AuditAction.STAFF_VIEWED_SUBJECT,
                    object_type="subject_pseudonym",
                    object_id=str(row.pk),
                )
        return response
