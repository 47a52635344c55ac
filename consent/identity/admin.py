"""Staff views of accounts: phone numbers masked; every opening, search and reveal audited."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from compliance_site.admin import ReadOnly, StaffViewAudited, subject_summaries
from compliance_site.errors import ApplicationError
from consent.identity.models import User
from consent.identity.selectors import masked_phone
from consent.identity.services import staff_phone_reveal, staff_subject_find

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
        "date_joined",
        "last_login",
        "summary",
    )
    readonly_fields = fields

    def get_fields(self, request, obj=None):
        # A person's record shows what support needs; a staff account its roles.
        if obj is not None and obj.is_staff:
            return (*self.fields[:3], "is_staff", "is_superuser", "groups", *self.fields[3:5])
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description=_("consents and requests"))
    def summary(self, obj: User) -> str:
        return format_html(
            "<dl>{}</dl>",
            format_html_join(
                "",
                "<dt>{}</dt><dd>{}</dd>",
                ((title, "; ".join(lines) or "—") for title, lines in subject_summaries(obj)),
            ),
        )

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
            refusal = ApplicationError(gettext("Enter a phone number."), code="invalid_phone")
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
