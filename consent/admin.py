"""Staff views: accounts (phone numbers masked, every opening, search and reveal audited) and
the consent ledger (read-only; the DPO publishes policies through ``policy_publish``)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from compliance_site.admin import OfferedLookupsOnly, PersonListAudited
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
from consent.services import (
    policy_publish,
    staff_phone_reveal,
    staff_subject_find,
    staff_view_record,
)


class StaffViewAudited(PersonListAudited):
    """Opening a row that belongs to a person is a staff view of that person: audited in
    the same transaction as the page (DESIGN invariant 2). Its list offers only its own
    filters, and narrowing it is audited too (``PersonListAudited``)."""

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


REVEAL_PHONE_PERMISSION = "consent.reveal_phone_number"


class FindByPhoneForm(forms.Form):
    phone = forms.CharField(label=_("Phone number"), max_length=32)


@admin.register(User)
class UserAdmin(StaffViewAudited, ReadOnly, admin.ModelAdmin):
    """Accounts are made by signing in or by ``create_staff``, and removed by erasure, so the
    admin neither adds, changes nor deletes them: there is no write that would skip a service.

    Numbers are masked on every page. Staff find a person by number with a POST (``find/``):
    the number never enters a URL, so no access log holds it, and the search is audited.
    Staff with ``reveal_phone_number`` may show one person's full number (``reveal/``,
    a POST, audited each time)."""

    list_display = ("id", "masked_phone_number", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_active")
    ordering = ("-date_joined",)
    fields = (
        "id",
        "masked_phone_number",
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

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("find/", view(self.find_view), name="consent_user_find"),
            path("<path:object_id>/reveal/", view(self.reveal_view), name="consent_user_reveal"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, **kwargs):
        context["can_reveal_phone"] = request.user.has_perm(REVEAL_PHONE_PERMISSION)
        return super().render_change_form(request, context, *args, **kwargs)

    @method_decorator(require_POST)
    def find_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = FindByPhoneForm(request.POST)
        if not form.is_valid():
            refusal = ApplicationError(_("Enter a phone number."), code="invalid_phone")
            return self._find_refused(request, refusal)
        try:
            subject = staff_subject_find(staff=request.user, phone=form.cleaned_data["phone"])
        except ApplicationError as refusal:
            return self._find_refused(request, refusal)
        if subject is None:
            self.message_user(request, _("No account has this number."), messages.WARNING)
            return redirect(reverse("admin:consent_user_changelist"))
        return redirect(reverse("admin:consent_user_change", args=[subject.pk]))

    def _find_refused(self, request, refusal: ApplicationError) -> TemplateResponse:
        """The form again with the refusal (its ``code`` on the page), never the number."""
        context = {
            **self.admin_site.each_context(request),
            "title": _("Find an account by phone number"),
            "opts": self.model._meta,
            "error": refusal,
        }
        return TemplateResponse(request, "admin/consent/user/find.html", context, status=400)

    @method_decorator(require_POST)
    def reveal_view(self, request, object_id):
        subject = self.get_object(request, unquote(object_id))
        allowed = self.has_view_permission(request, subject)
        if not (allowed and request.user.has_perm(REVEAL_PHONE_PERMISSION)):
            raise PermissionDenied
        if subject is None:
            raise Http404
        context = {
            **self.admin_site.each_context(request),
            "title": _("Phone number of %(user)s") % {"user": subject},
            "opts": self.model._meta,
            "original": subject,
            "phone_number": staff_phone_reveal(staff=request.user, subject=subject),
        }
        return TemplateResponse(request, "admin/consent/user/reveal.html", context)


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
class PurposeAdmin(OfferedLookupsOnly, _DpoReadable, admin.ModelAdmin):
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
class PolicyVersionAdmin(OfferedLookupsOnly, _DpoReadable, admin.ModelAdmin):
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
class ConsentRecordAdmin(StaffViewAudited, _DpoReadable, admin.ModelAdmin):
    """Consent records cannot be changed by anyone; opening one is audited as a staff view
    of its subject. The receipt is shown without the subject's pseudonym: beside the account
    it would be the pseudonym's mapping, which no staff page shows."""

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
        "receipt_shown",
    )
    readonly_fields = fields

    @admin.display(description=_("version"))
    def version(self, obj: ConsentRecord) -> int:
        return obj.policy.version

    @admin.display(description=_("receipt (the subject's pseudonym left out)"))
    def receipt_shown(self, obj: ConsentRecord) -> str:
        try:
            receipt = json.loads(obj.receipt)
        except ValueError:
            return ""
        if isinstance(receipt, dict) and "piiPrincipalId" in receipt:
            receipt["piiPrincipalId"] = "…"
        return json.dumps(receipt, indent=2, ensure_ascii=False)
