"""The audit log in the staff admin: read-only. No add, change or delete, for anyone.

The pseudonym mapping (``SubjectPseudonym``) is in no admin page, for anyone: next to an
account it would undo the pseudonymisation that the log relies on (invariant "pseudonymous-log",
docs/ARCHITECTURE.md)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.exceptions import DisallowedModelAdminLookup

from audit.actions import AuditAction
from audit.models import AuditCheckpoint, AuditEvent, AuditLeaf
from compliance_site.admin import OfferedLookupsOnly, PersonListAudited

_ACCOUNT_OBJECT_TYPE = "user"


class ReadOnlyAdmin(OfferedLookupsOnly, admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


class ActionFilter(admin.SimpleListFilter):
    """The events' actions by name ("Consent granted"), not by their stored numbers."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return [(str(int(a)), a.name.replace("_", " ").capitalize()) for a in AuditAction]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not value.isascii() or not value.isdigit():
            raise DisallowedModelAdminLookup("Unknown action.")
        return queryset.filter(action=int(value))


@admin.register(AuditEvent)
class AuditEventAdmin(PersonListAudited, ReadOnlyAdmin):
    """Searching or filtering the log by a pseudonym narrows it to one person: audited."""

    list_display = (
        "id",
        "time",
        "action_name",
        "actor",
        "subject",
        "object_type",
        "object_shown",
    )
    list_filter = (ActionFilter,)
    # Not ``object_id``: searching it for an account id would pair that id with a pseudonym.
    search_fields = ("subject", "actor", "request_id")
    date_hierarchy = "time"
    ordering = ("-id",)

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [
            "object_shown" if name == "object_id" else name
            for name in super().get_readonly_fields(request, obj)
        ]

    @admin.display(description="object id")
    def object_shown(self, obj: AuditEvent) -> str:
        # Staff views written before they stopped naming the account held its id here, beside
        # the pseudonym: that pair is the mapping, which no admin page shows.
        return "" if obj.object_type == _ACCOUNT_OBJECT_TYPE else obj.object_id


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
