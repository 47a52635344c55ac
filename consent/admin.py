"""Staff views: accounts (phone numbers masked, every opening audited) and the consent ledger
(read-only; the DPO publishes policies through ``policy_publish``)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from compliance_site.errors import ApplicationError
from consent.models import (
    ConsentRecord,
    ErasureRequest,
    PolicyText,
    PolicyVersion,
    Purpose,
    ReportJob,
    User,
)
from consent.selectors import is_dpo, masked_phone, retention_text
from consent.services import policy_publish, staff_view_record


class StaffViewAudited:
    """Opening a row that belongs to a person is a staff view of that person: audited in
    the same transaction as the page (DESIGN invariant 2)."""

    def subject_of(self, obj) -> User | None:
        return obj.subject

    def change_view(self, request, object_id, form_url="", extra_context=None):
        with transaction.atomic():
            response = super().change_view(request, object_id, form_url, extra_context)
            obj = self.get_object(request, unquote(object_id))
            subject = self.subject_of(obj) if obj is not None else None
            if response.status_code == 200 and subject is not None:
                staff_view_record(staff=request.user, subject=subject)
        return response


class ReadOnly:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(StaffViewAudited, ReadOnly, admin.ModelAdmin):
    """Accounts are made by signing in or by ``create_staff``, and removed by erasure, so the
    admin neither adds, changes nor deletes them: there is no write that would skip a service."""

    list_display = ("id", "masked_phone_number", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_active")
    # Exact match only: staff look up the person on the phone, they do not browse numbers.
    search_fields = ("=phone_number",)
    search_help_text = _("Search by the full phone number, e.g. +447400123456.")
    ordering = ("-date_joined",)
    fields = (
        "id",
        "phone_number",
        "is_active",
        "is_staff",
        "is_superuser",
        "groups",
        "date_joined",
        "last_login",
    )
    readonly_fields = fields

    @admin.display(description=_("phone number"))
    def masked_phone_number(self, obj: User) -> str:
        return masked_phone(obj.phone_number)

    def subject_of(self, obj: User) -> User:
        return obj

    def changelist_view(self, request, extra_context=None):
        """A search by number that finds someone is a view of that person: audited. The plain
        list shows masked numbers only, so browsing it names nobody."""
        with transaction.atomic():
            response = super().changelist_view(request, extra_context)
            changelist = getattr(response, "context_data", {}).get("cl")
            if request.GET.get(SEARCH_VAR) and changelist is not None:
                for subject in changelist.result_list:
                    staff_view_record(staff=request.user, subject=subject)
        return response


# --- data-subject requests (the support role) ---------------------------------------------------


@admin.register(ErasureRequest)
class ErasureRequestAdmin(StaffViewAudited, ReadOnly, admin.ModelAdmin):
    """Erasures run by themselves (``consent.erasure``); staff follow them against the 30-day
    deadline. The status token is never shown (only its digest is kept)."""

    list_display = ("id", "status", "requested_at", "completed_at", "days_taken")
    list_filter = ("status",)
    ordering = ("-requested_at",)
    fields = ("id", "status", "subject_ref", "requested_at", "completed_at", "progress")
    readonly_fields = fields

    @admin.display(description=_("days taken"))
    def days_taken(self, obj: ErasureRequest) -> str:
        end = obj.completed_at or timezone.now()
        return f"{(end - obj.requested_at).total_seconds() / 86400:.1f}"

    def subject_of(self, obj: ErasureRequest) -> User | None:
        return User.objects.filter(pk=obj.subject_ref).first() if obj.subject_ref else None


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


# --- the consent ledger -------------------------------------------------------------------------


class _DpoReadable:
    """Read-only for everyone; visible to the DPO (and superusers) without model permissions."""

    def has_module_permission(self, request) -> bool:
        return super().has_module_permission(request) or is_dpo(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return super().has_view_permission(request, obj) or is_dpo(request.user)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Purpose)
class PurposeAdmin(_DpoReadable, admin.ModelAdmin):
    list_display = ("code", "current_version", "sensitive", "retention")
    list_select_related = ("current_version__purpose",)
    fields = ("code", "sensitive", "works_with", "retention_rule", "retention_days", "retention")
    readonly_fields = fields

    @admin.display(description=_("retention"))
    def retention(self, obj: Purpose) -> str:
        return retention_text(obj)


class PolicyTextInline(admin.StackedInline):
    model = PolicyText
    fields = ("language", "sha256", "text")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return super().has_view_permission(request, obj) or is_dpo(request.user)


class PolicyPublishForm(forms.Form):
    purpose = forms.ModelChoiceField(
        queryset=Purpose.objects.all(), to_field_name="code", label=_("Purpose")
    )
    text_en = forms.CharField(
        label=_("English text"),
        widget=forms.Textarea(attrs={"rows": 18, "cols": 100}),
        strip=False,
        help_text=_("The first line is the title. Published exactly as entered."),
    )
    text_zh_hans = forms.CharField(
        label=_("Simplified Chinese text"),
        widget=forms.Textarea(attrs={"rows": 18, "cols": 100, "lang": "zh-hans"}),
        strip=False,
    )

    def texts(self) -> dict[str, str]:
        # Browsers send textarea line breaks as CRLF; texts are published with LF, like v1.
        def clean(value: str) -> str:
            return value.replace("\r\n", "\n")

        return {
            "en": clean(self.cleaned_data["text_en"]),
            "zh-hans": clean(self.cleaned_data["text_zh_hans"]),
        }


@admin.register(PolicyVersion)
class PolicyVersionAdmin(_DpoReadable, admin.ModelAdmin):
    """Published versions are read-only; "Add" is the DPO's publish form, which calls
    ``policy_publish`` (audited; existing grants become outdated)."""

    list_display = ("purpose", "version", "published_at", "is_current")
    list_filter = ("purpose",)
    list_select_related = ("purpose",)
    fields = ("purpose", "version", "published_at")
    readonly_fields = fields
    inlines = [PolicyTextInline]

    @admin.display(boolean=True, description=_("current"))
    def is_current(self, obj: PolicyVersion) -> bool:
        return obj.purpose.current_version_id == obj.pk

    def has_add_permission(self, request, obj=None) -> bool:
        return is_dpo(request.user)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PolicyPublishForm(request.POST or None, initial=self._initial(request))
        if request.method == "POST" and form.is_valid():
            try:
                policy = policy_publish(
                    purpose=form.cleaned_data["purpose"].code,
                    texts=form.texts(),
                    actor=request.user,
                )
            except ApplicationError as exc:
                form.add_error(None, exc.detail)
            else:
                self.message_user(request, _("Published %(policy)s.") % {"policy": policy})
                return redirect(reverse("admin:consent_policyversion_change", args=[policy.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Publish a new policy version"),
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "consent/admin_policy_publish.html", context)

    def _initial(self, request) -> dict:
        """Start from the purpose's current texts (``?purpose=<code>``)."""
        purpose = Purpose.objects.filter(code=request.GET.get("purpose", "")).first()
        if purpose is None or purpose.current_version_id is None:
            return {}
        texts = dict(
            PolicyText.objects.filter(policy_id=purpose.current_version_id).values_list(
                "language", "text"
            )
        )
        return {
            "purpose": purpose,
            "text_en": texts.get("en", ""),
            "text_zh_hans": texts.get("zh-hans", ""),
        }


@admin.register(ConsentRecord)
class ConsentRecordAdmin(_DpoReadable, admin.ModelAdmin):
    """Consent records cannot be changed by anyone; opening one is audited as a staff view
    of its subject."""

    list_display = ("id", "subject_id", "purpose", "action", "version", "method", "created_at")
    list_filter = ("purpose", "action", "method")
    list_select_related = ("purpose", "policy")
    raw_id_fields = ("subject",)
    ordering = ("-id",)
    fields = (
        "id",
        "subject",
        "purpose",
        "policy",
        "action",
        "reason",
        "created_at",
        "method",
        "language",
        "text_sha256",
        "user_agent_sha256",
        "ip_network",
        "guardian_pseudonym",
        "receipt_id",
        "receipt",
    )
    readonly_fields = fields

    @admin.display(description=_("version"))
    def version(self, obj: ConsentRecord) -> int:
        return obj.policy.version

    def change_view(self, request, object_id, form_url="", extra_context=None):
        with transaction.atomic():
            response = super().change_view(request, object_id, form_url, extra_context)
            record = self.get_object(request, unquote(object_id))
            if response.status_code == 200 and record is not None:
                staff_view_record(staff=request.user, subject=record.subject)
        return response
