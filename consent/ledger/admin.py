"""Admin of the consent ledger (the DPO role)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from compliance_site.admin import ModelAdminMixin, OfferedLookupsOnly, ReadOnly, StaffViewAudited
from compliance_site.errors import ApplicationError
from consent.ledger.models import (
    ConsentRecord,
    ImpactAssessment,
    PolicyText,
    PolicyVersion,
    Purpose,
)
from consent.ledger.selectors import (
    assessment_current,
    is_dpo,
    policy_publish_preview,
    retention_text,
)
from consent.ledger.services import (
    AssessmentFacts,
    assessment_publish,
    check_policy_publishable,
    check_policy_texts,
    policy_publish,
)

_PREVIEW_SALT = "consent.ledger.admin.policy_preview"

# --- the consent ledger -------------------------------------------------------------------------


class _DpoReadable(ReadOnly, ModelAdminMixin):
    """Read-only for everyone; visible to the DPO (and superusers) without model permissions."""

    def has_module_permission(self, request) -> bool:
        return super().has_module_permission(request) or is_dpo(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return super().has_view_permission(request, obj) or is_dpo(request.user)


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
        """The texts, then a preview of what changes (``policy_publish_preview``), then the
        publish: only from a preview that was shown to this user and is still true."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PolicyPublishForm(request.POST or None, initial=self._initial(request))
        if request.method != "POST" or "_edit" in request.POST or not form.is_valid():
            return self._edit_page(request, form)
        purpose, texts = form.cleaned_data["purpose"], form.texts()
        try:
            check_policy_texts(texts)
            check_policy_publishable(purpose, texts)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
            return self._edit_page(request, form)
        previewed = self._previewed(request)
        if previewed is None:
            return self._preview_page(request, form, purpose, texts)
        try:
            policy = policy_publish(
                purpose=purpose.code, texts=texts, actor=request.user, previewed=previewed
            )
        except ApplicationError as exc:
            return self._preview_page(request, form, purpose, texts, error=exc.detail)
        self.message_user(request, _("Published %(policy)s.") % {"policy": policy})
        return redirect(reverse("admin:consent_policyversion_change", args=[policy.pk]))

    def _edit_page(self, request, form):
        context = {
            **self.admin_site.each_context(request),
            "title": _("Publish a new policy version"),
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "consent/admin_policy_publish.html", context)

    def _preview_page(self, request, form, purpose, texts, *, error=""):
        preview = policy_publish_preview(purpose, texts)
        signed = signing.dumps([request.user.pk, preview.fingerprint], salt=_PREVIEW_SALT)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Check the new version before publishing"),
            "opts": self.model._meta,
            "form": form,
            "preview": preview,
            "signed_preview": signed,
            "error": error,
        }
        return TemplateResponse(request, "consent/admin_policy_preview.html", context)

    def _previewed(self, request) -> str | None:
        """The fingerprint of the preview this user confirmed, or None: no "Publish" pressed,
        or a preview not signed here for them (a post that skipped it) or an hour old."""
        if "_publish" not in request.POST:
            return None
        try:
            user, fingerprint = signing.loads(
                request.POST.get("preview", ""), salt=_PREVIEW_SALT, max_age=3600
            )
        except (signing.BadSignature, TypeError, ValueError):
            return None
        return fingerprint if user == request.user.pk else None

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


class AssessmentForm(forms.ModelForm):
    class Meta:
        model = ImpactAssessment
        fields = (
            "purpose",
            "scope",
            "necessity",
            "risks",
            "measures",
            "residual_risk",
            "decision",
            "review_on",
            "signer",
        )
        widgets = {
            name: forms.Textarea(attrs={"rows": 6, "cols": 100})
            for name in ("scope", "necessity", "risks", "measures")
        } | {"review_on": forms.DateInput(attrs={"type": "date"})}

    def facts(self) -> AssessmentFacts:
        data = self.cleaned_data
        return AssessmentFacts(
            **{name: data[name] for name in AssessmentFacts.__dataclass_fields__}
        )


@admin.register(ImpactAssessment)
class ImpactAssessmentAdmin(OfferedLookupsOnly, _DpoReadable, admin.ModelAdmin):
    """Published assessments are read-only and never deleted; "Add" is the DPO's form, which
    calls ``assessment_publish`` (audited). A purpose's policy can be published only while it
    has a current one."""

    list_display = (
        "purpose",
        "version",
        "decision",
        "residual_risk",
        "review_on",
        "published_at",
        "is_current",
    )
    list_filter = ("purpose",)
    list_select_related = ("purpose",)
    fields = (
        "purpose",
        "version",
        "scope",
        "necessity",
        "risks",
        "measures",
        "residual_risk",
        "decision",
        "review_on",
        "signer",
        "published_at",
        "sha256",
    )
    readonly_fields = fields

    @admin.display(boolean=True, description=_("current"))
    def is_current(self, obj: ImpactAssessment) -> bool:
        current = assessment_current(obj.purpose)
        return current is not None and current.pk == obj.pk

    def has_add_permission(self, request, obj=None) -> bool:
        return is_dpo(request.user)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = AssessmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                assessment = assessment_publish(
                    purpose=form.cleaned_data["purpose"].code,
                    facts=form.facts(),
                    actor=request.user,
                )
            except ApplicationError as exc:
                form.add_error(None, exc.detail)
            else:
                self.message_user(request, _("Published %(item)s.") % {"item": assessment})
                url = reverse("admin:consent_impactassessment_change", args=[assessment.pk])
                return redirect(url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Publish an impact assessment"),
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "consent/admin_assessment_publish.html", context)


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
        "guardian_relationship",
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
