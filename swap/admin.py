"""Staff views of the swap app. Templates, their licences and the depicted persons' consents are
added through the services (audited, files checked with the safe decoders); nothing is changed
or deleted in place (a renewal is a new record). Jobs are read-only and never show a face;
opening one is audited as a staff view of its subject."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import csrf_protect_m
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import ValidationError
from django.db.models import F
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from compliance_site.admin import ModelAdminMixin, ReadOnly, RequestDeadline, StaffViewAudited
from compliance_site.errors import ApplicationError
from swap.models import (
    DepictedPersonConsent,
    DepictedWithdrawalRequest,
    SwapJob,
    SwapTemplate,
    TemplateLicence,
)
from swap.selectors import template_refusal
from swap.services import (
    DepictedConsentTerms,
    LicenceTerms,
    check_depicted_consent_terms,
    check_licence_terms,
    check_template_file,
    check_template_picture_kept,
    check_withdrawal_request,
    swap_template_add,
    swap_template_consent_record,
    swap_template_consent_secret_issue,
    swap_template_consent_withdraw,
    swap_template_licence_record,
    swap_withdrawal_request_carry_out,
    swap_withdrawal_request_log,
)


def _read(upload) -> bytes:
    try:
        return upload.read()
    finally:
        upload.close()


def _refusal_error(refusal: ApplicationError) -> ValidationError:
    return ValidationError(refusal.detail, code=refusal.code)


# Said after staff record a depicted person's withdrawal, whichever way they record it.
WITHDRAWAL_RECORDED = _(
    "Withdrawal recorded: the templates concerned can no longer be used, their running swaps "
    "are stopped and every result made with them is erased (each owner gets a notice)."
)


class _ReadOnlyAfterAdd(ModelAdminMixin):
    """Added through a service; never changed or deleted in place."""

    add_fields: Sequence[str]
    view_fields: Sequence[str]

    @csrf_protect_m
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Without the admin's own transaction around the form: the service that save_model
        # calls runs (and audits) in its own durable one.
        # (attr-defined: ModelAdmin._changeform_view, the view without its transaction, is
        # Django's own but not in the stubs.)
        response = self._changeform_view(request, object_id, form_url, extra_context)  # type: ignore[attr-defined]
        if request.method == "POST" and response.status_code == 200:
            response.status_code = 400  # the form again, with its errors: bad input is a 4xx
        return response

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    # A new row is entered with ``add_fields`` (the form's); an existing one is shown, read-only,
    # with ``view_fields``.
    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.view_fields

    def get_readonly_fields(self, request, obj=None):
        return self.view_fields if obj is not None else ()

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, change, **kwargs)

    @staticmethod
    def _adopt(obj, created) -> None:
        # The admin's log entry and redirect name the row the service made.
        obj.__dict__.update(created.__dict__)


def consent_record_page(request, consent: DepictedPersonConsent) -> TemplateResponse:
    """The printable consent record with its withdrawal secret, shown once, as the answer to
    recording the consent (201): the DPO prints it for the depicted person. The secret is not
    stored, so it cannot be shown again; no cache may keep the page."""
    context = {
        **admin.site.each_context(request),
        "title": _("Consent record and withdrawal secret"),
        "consent": consent,
        "template": consent.template,
        "secret": consent.withdrawal_secret,
        "withdraw_url": request.build_absolute_uri(reverse("swap:depicted_withdraw")),
        "api_url": request.build_absolute_uri(reverse("api-depicted-withdrawals")),
    }
    response = TemplateResponse(request, "swap/consent_record.html", context, status=201)
    response["Cache-Control"] = "no-store"
    return response


# --- templates ----------------------------------------------------------------------------------


class SwapTemplateAddForm(forms.ModelForm):
    upload = forms.FileField(
        label=_("Image or clip"),
        help_text=_(
            "JPEG, PNG or WebP; or an MP4 or WebM clip of at most 30 seconds. It must show a "
            "face. Stored as uploaded."
        ),
    )
    licence_source = forms.CharField(
        label=_("Licence: source"),
        max_length=300,
        help_text=_("Where the file comes from (a URL, an agency, a photographer)."),
    )
    licence_terms = forms.CharField(label=_("Licence: terms"), widget=forms.Textarea)
    licence_expires_at = forms.SplitDateTimeField(
        label=_("Licence: expires"),
        required=False,
        widget=AdminSplitDateTime,
        help_text=_("Leave empty if the licence does not expire (e.g. public domain)."),
    )
    person = forms.CharField(
        label=_("Depicted person (name or reference)"),
        max_length=200,
        help_text=_("Kept here only: the audit log names the record, never the person."),
    )
    document = forms.FileField(label=_("Signed consent to face editing (PDF, JPEG or PNG)"))
    scope = forms.CharField(label=_("Consent: scope"), widget=forms.Textarea)
    sharing_allowed = forms.BooleanField(
        label=_("Consent: results may be shared by link"),
        required=False,
        help_text=_(
            "Tick only if the signed consent allows results made with this picture to be shared "
            "by link beyond the user who made them. Unticked, nobody can make such a link."
        ),
    )
    consent_expires_at = forms.SplitDateTimeField(
        label=_("Consent: expires"), widget=AdminSplitDateTime
    )

    class Meta:
        model = SwapTemplate
        fields = ["title"]

    def clean_upload(self):
        try:
            return check_template_file(_read(self.cleaned_data["upload"]))
        except ApplicationError as refusal:
            raise _refusal_error(refusal) from None

    def clean_document(self) -> bytes:
        return _read(self.cleaned_data["document"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        now = timezone.now()
        if {"licence_source", "licence_terms"} <= cleaned.keys():
            try:
                check_licence_terms(self.licence(), now=now)
            except ApplicationError as refusal:
                self.add_error("licence_expires_at", _refusal_error(refusal))
        if {"person", "document", "scope", "consent_expires_at"} <= cleaned.keys():
            try:
                check_depicted_consent_terms(self.consent(), now=now)
            except ApplicationError as refusal:
                self.add_error(None, _refusal_error(refusal))
        return cleaned

    def licence(self) -> LicenceTerms:
        data = self.cleaned_data
        return LicenceTerms(
            source=data["licence_source"],
            terms=data["licence_terms"],
            expires_at=data.get("licence_expires_at"),
        )

    def consent(self) -> DepictedConsentTerms:
        data = self.cleaned_data
        return DepictedConsentTerms(
            person=data["person"],
            document=data["document"],
            scope=data["scope"],
            expires_at=data["consent_expires_at"],
            sharing_allowed=data.get("sharing_allowed", False),
        )


@admin.register(SwapTemplate)
class SwapTemplateAdmin(_ReadOnlyAfterAdd, admin.ModelAdmin):
    form = SwapTemplateAddForm
    list_display = ("title", "kind", "usable", "licence_expires", "consent_expires", "created_at")
    list_filter = ("kind",)
    list_select_related = ("licence", "depicted_consent")
    search_fields = ("title",)
    add_fieldsets = (
        (None, {"fields": ("title", "upload")}),
        (_("Licence"), {"fields": ("licence_source", "licence_terms", "licence_expires_at")}),
        (
            _("The depicted person's consent to face editing"),
            {"fields": ("person", "document", "scope", "sharing_allowed", "consent_expires_at")},
        ),
    )
    view_fields = (
        "id",
        "title",
        "kind",
        "usable",
        "file_name",
        "sha256",
        "size_bytes",
        "width",
        "height",
        "duration_seconds",
        "created_at",
        "licence",
        "depicted_consent",
    )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        return ((None, {"fields": self.view_fields}),)

    @admin.display(boolean=True, description=_("usable now"))
    def usable(self, obj: SwapTemplate) -> bool:
        return template_refusal(obj, timezone.now()) is None

    @admin.display(description=_("licence expires"))
    def licence_expires(self, obj: SwapTemplate):
        if obj.licence is None:
            return None
        return obj.licence.expires_at or _("never")

    @admin.display(description=_("consent expires"))
    def consent_expires(self, obj: SwapTemplate):
        return obj.depicted_consent.expires_at if obj.depicted_consent else None

    @admin.display(description=_("file"))
    def file_name(self, obj: SwapTemplate) -> str:
        return obj.file.name

    def save_model(self, request, obj, form, change) -> None:
        created = swap_template_add(
            title=form.cleaned_data["title"],
            media=form.cleaned_data["upload"],
            licence=form.licence(),
            consent=form.consent(),
            actor=request.user,
        )
        self._adopt(obj, created)

    def response_add(self, request, obj, post_url_continue=None):
        super().response_add(request, obj, post_url_continue)  # the admin's message
        assert obj.depicted_consent is not None
        return consent_record_page(request, obj.depicted_consent)


# --- licences and consents ----------------------------------------------------------------------


class TemplateLicenceForm(forms.ModelForm):
    class Meta:
        model = TemplateLicence
        fields = ["template", "source", "terms", "expires_at"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if {"source", "terms"} <= cleaned.keys():
            try:
                check_licence_terms(self.licence(), now=timezone.now())
            except ApplicationError as refusal:
                self.add_error("expires_at", _refusal_error(refusal))
        return cleaned

    def licence(self) -> LicenceTerms:
        data = self.cleaned_data
        return LicenceTerms(
            source=data["source"], terms=data["terms"], expires_at=data.get("expires_at")
        )


@admin.register(TemplateLicence)
class TemplateLicenceAdmin(_ReadOnlyAfterAdd, admin.ModelAdmin):
    """A new licence replaces the template's current one; earlier ones stay on record."""

    form = TemplateLicenceForm
    list_display = ("template", "source", "expires_at", "recorded_at")
    list_select_related = ("template",)
    add_fields = ("template", "source", "terms", "expires_at")
    view_fields = ("template", "source", "terms", "expires_at", "recorded_at")

    def save_model(self, request, obj, form, change) -> None:
        created = swap_template_licence_record(
            template=form.cleaned_data["template"],
            licence=form.licence(),
            actor=request.user,
        )
        self._adopt(obj, created)


class DepictedPersonConsentForm(forms.ModelForm):
    # Not the model's name: that field is not editable (set by the service, shown read-only).
    share_by_link = forms.BooleanField(
        label=_("Results may be shared by link"),
        required=False,
        help_text=_(
            "Tick only if the signed consent allows results made with this picture to be shared "
            "by link beyond the user who made them. Unticked, nobody can make such a link."
        ),
    )

    class Meta:
        model = DepictedPersonConsent
        fields = ["template", "person", "document", "scope", "expires_at"]

    def clean_document(self) -> bytes:
        return _read(self.cleaned_data["document"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("template") is not None:
            try:
                check_template_picture_kept(cleaned["template"])
            except ApplicationError as refusal:
                self.add_error("template", _refusal_error(refusal))
        if {"person", "document", "scope", "expires_at"} <= cleaned.keys():
            try:
                check_depicted_consent_terms(self.consent(), now=timezone.now())
            except ApplicationError as refusal:
                self.add_error(None, _refusal_error(refusal))
        return cleaned

    def consent(self) -> DepictedConsentTerms:
        data = self.cleaned_data
        return DepictedConsentTerms(
            person=data["person"],
            document=data["document"],
            scope=data["scope"],
            expires_at=data["expires_at"],
            sharing_allowed=data.get("share_by_link", False),
        )

    def _post_clean(self) -> None:
        # The document is bytes for the service, not a file for the model: the service
        # builds and validates the row.
        pass


@admin.register(DepictedPersonConsent)
class DepictedPersonConsentAdmin(_ReadOnlyAfterAdd, admin.ModelAdmin):
    """A new consent replaces the template's current one; "withdraw" records a withdrawal."""

    form = DepictedPersonConsentForm
    list_display = ("template", "person", "expires_at", "withdrawn_at", "recorded_at")
    list_select_related = ("template",)
    actions = ["withdraw", "issue_secret"]
    add_fields = ("template", "person", "document", "scope", "share_by_link", "expires_at")
    view_fields = (
        "template",
        "person",
        "document_name",
        "scope",
        "sharing_allowed",
        "expires_at",
        "recorded_at",
        "withdrawn_at",
    )

    @admin.display(description=_("signed document"))
    def document_name(self, obj: DepictedPersonConsent) -> str:
        return obj.document.name

    def save_model(self, request, obj, form, change) -> None:
        created = swap_template_consent_record(
            template=form.cleaned_data["template"],
            consent=form.consent(),
            actor=request.user,
        )
        self._adopt(obj, created)

    def response_add(self, request, obj, post_url_continue=None):
        super().response_add(request, obj, post_url_continue)  # the admin's message
        return consent_record_page(request, obj)

    @admin.action(
        description=_("Record the withdrawal of the selected consents"), permissions=["withdraw"]
    )
    def withdraw(self, request, queryset) -> None:
        for consent in queryset:
            swap_template_consent_withdraw(consent=consent, actor=request.user)
        self.message_user(
            request,
            WITHDRAWAL_RECORDED,
            messages.SUCCESS,
        )

    def has_withdraw_permission(self, request) -> bool:
        return request.user.has_perm("swap.add_depictedpersonconsent")

    @admin.action(
        description=_("Issue a new withdrawal secret (the old one stops working)"),
        permissions=["withdraw"],
    )
    def issue_secret(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, _("Choose exactly one consent to issue a secret for."), messages.ERROR
            )
            return None
        try:
            row = swap_template_consent_secret_issue(consent=queryset.get(), actor=request.user)
        except ApplicationError as refusal:
            self.message_user(request, refusal.detail, messages.ERROR)
            return None
        return consent_record_page(request, row)


class DepictedWithdrawalRequestForm(forms.ModelForm):
    class Meta:
        model = DepictedWithdrawalRequest
        fields = ["template", "requested_at", "channel", "note"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if {"template", "requested_at"} <= cleaned.keys():
            try:
                check_withdrawal_request(
                    cleaned["template"], cleaned["requested_at"], now=timezone.now()
                )
            except ApplicationError as refusal:
                field = "requested_at" if refusal.code == "received_in_future" else "template"
                self.add_error(field, _refusal_error(refusal))
        return cleaned


@admin.register(DepictedWithdrawalRequest)
class DepictedWithdrawalRequestAdmin(RequestDeadline, _ReadOnlyAfterAdd, admin.ModelAdmin):
    """A depicted person's withdrawal that reached staff, logged with when it arrived, and the
    queue of them against the one-month deadline (``RequestDeadline``: open first, oldest on
    top, days left, overdue and late flagged). "Carry out" is the withdrawal staff record,
    which closes the request."""

    form = DepictedWithdrawalRequestForm
    list_display = (
        "id",
        "template",
        "channel",
        "requested_at",
        "due",
        "days_left",
        "deadline",
        "completed_at",
    )
    list_select_related = ("template",)
    # Django takes expressions here; the stubs admit strings only.
    ordering = (F("completed_at").asc(nulls_first=True), "requested_at")  # type: ignore[assignment]
    actions = ["carry_out"]
    add_fields = ("template", "requested_at", "channel", "note")
    view_fields = ("template", "requested_at", "channel", "note", "logged_at", "completed_at")

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        created = swap_withdrawal_request_log(
            template=data["template"],
            received_at=data["requested_at"],
            channel=data["channel"],
            note=data["note"],
            actor=request.user,
        )
        self._adopt(obj, created)

    @admin.action(
        description=_("Carry out the selected withdrawal requests"), permissions=["withdraw"]
    )
    def carry_out(self, request, queryset) -> None:
        for row in queryset:
            swap_withdrawal_request_carry_out(request=row, actor=request.user)
        self.message_user(
            request,
            WITHDRAWAL_RECORDED,
            messages.SUCCESS,
        )

    def has_withdraw_permission(self, request) -> bool:
        return request.user.has_perm("swap.add_depictedpersonconsent")


# --- jobs ---------------------------------------------------------------------------------------


@admin.register(SwapJob)
class SwapJobAdmin(StaffViewAudited, ReadOnly, admin.ModelAdmin):
    """Read-only: no face, no result is shown here. Opening a job is audited as a staff view
    of its subject."""

    list_display = ("id", "subject_id", "template", "status", "progress", "error", "created_at")
    list_filter = ("status", "kind")
    list_select_related = ("template",)
    raw_id_fields = ("subject", "capture", "template")
    ordering = ("-created_at",)
    fields = (
        "id",
        "subject",
        "capture",
        "template",
        "kind",
        "status",
        "progress",
        "error",
        "attempts",
        "created_at",
        "claimed_at",
        "heartbeat_at",
        "finished_at",
        "result_bytes",
        "result_c2pa",
        "stored",
        "expires_at",
    )
    readonly_fields = fields
