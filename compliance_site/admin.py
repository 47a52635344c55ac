"""The staff admin site, and what every admin page that lists people shares: only the lookups
the page offers, an audit event for every filter or search that narrows such a list and for
every opening of a person's row, and read-only pages.

This module sits below ``audit`` and ``consent``: it records staff events through recorders
that consent's identity sub-domain plugs in (``staff_events_connect``, from
``ConsentConfig.ready()``). A page that would go unaudited because none is plugged in raises."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin import FieldListFilter, ModelAdmin
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.contrib.admin.views.main import ORDER_VAR, SEARCH_VAR, ChangeList
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance_site import deadlines, staff_roles

# Never in the admin, for anyone (superusers included), whoever registers them: django-otp's
# TOTP device admin shows each staff member's shared secret and its QR code (staff enrol with
# ``create_staff``, which prints their own secret once), and the pseudonym table maps the
# audit log's pseudonyms back to people (invariant "pseudonymous-log", docs/ARCHITECTURE.md).
_NEVER_REGISTERED = {"otp_totp.totpdevice", "audit.subjectpseudonym"}

# --- staff events, recorded by the layer above ---------------------------------------------------

STAFF_EVENTS = ("login", "logout", "viewed_subject", "narrowed_list")
_recorders: dict[str, Callable[..., None]] = {}


def staff_events_connect(**recorders: Callable[..., None]) -> None:
    """Plug in the audited service that records each staff event (``STAFF_EVENTS``)."""
    unknown = set(recorders) - set(STAFF_EVENTS)
    if unknown:
        raise ValueError(f"Unknown staff events: {', '.join(sorted(unknown))}.")
    _recorders.update(recorders)


def _staff_event(event: str, **facts) -> None:
    recorder = _recorders.get(event)
    if recorder is None:
        raise ImproperlyConfigured(f"Nothing records the staff event {event!r}.")
    recorder(**facts)


# What an admin mixin is mixed into, for the type checker: ``class X(Mixin, admin.ModelAdmin)``.
if TYPE_CHECKING:
    ModelAdminMixin = ModelAdmin[Any]
else:
    ModelAdminMixin = object


# What support sees on a person's record besides the account: each app adds its own lines
# (consents, requests) from its ready(), so this layer names none of them.
_subject_summaries: dict[str, tuple[str, Callable[[Any], list[str]]]] = {}


def subject_summary_register(name: str, title: str, lines: Callable[[Any], list[str]]) -> None:
    """``lines(subject)`` → short plain lines (no numbers, no hashes) shown under ``title``."""
    _subject_summaries[name] = (title, lines)


def subject_summaries(subject: Any) -> list[tuple[str, list[str]]]:
    return [(title, lines(subject)) for title, lines in _subject_summaries.values()]


class OneStepLoginForm(OTPAdminAuthenticationForm):
    """django-otp asks which device to use only after a first submit ("Please select a
    device", every time). Staff have one authenticator app (TOTP; the SMS code is never a
    second factor): with no device chosen, that one is used, so the form signs in at once."""

    def _chosen_device(self, user):
        chosen = super()._chosen_device(user)
        if chosen is not None or self.cleaned_data.get("otp_device"):
            return chosen
        apps = list(TOTPDevice.objects.devices_for_user(user, confirmed=True)[:2])
        return apps[0] if len(apps) == 1 else None


class FaceledgerAdminSite(OTPAdminSite):
    login_form = OneStepLoginForm
    site_header = "Faceledger staff"
    site_title = "Faceledger staff"
    index_title = "Administration"

    def register(self, model_or_iterable, admin_class=None, **options):
        models = (
            model_or_iterable
            if isinstance(model_or_iterable, list | tuple)
            else [model_or_iterable]
        )
        kept = [model for model in models if model._meta.label_lower not in _NEVER_REGISTERED]
        if kept:
            super().register(kept, admin_class, **options)

    def index(self, request, extra_context=None):
        """A role the admin shows nothing (the auditor) goes to its own page instead of "You
        don't have permission to view anything"."""
        if not self.get_app_list(request):
            roles = request.user.groups.values_list("name", flat=True)
            url_name = staff_roles.landing_for(roles)
            if url_name is not None:
                return redirect(url_name)
        return super().index(request, extra_context)

    def autocomplete_view(self, request):
        # No admin form here uses autocomplete, and its JSON would be a search of any admin
        # with search fields that nothing audits.
        raise Http404("No autocomplete in this admin.")

    # Every sign-in and sign-out is audited in the transaction that records it (invariant
    # "audited", docs/ARCHITECTURE.md). A POST that ends authenticated with a redirect is a
    # completed login.
    def login(self, request, extra_context=None):
        with transaction.atomic():
            response = super().login(request, extra_context)
            signed_in = request.method == "POST" and response.status_code == 302
            if signed_in and request.user.is_authenticated:
                _staff_event("login", user=request.user)
        return response

    def logout(self, request, extra_context=None):
        user = request.user if request.user.is_authenticated else None
        with transaction.atomic():
            response = super().logout(request, extra_context)
            if user is not None and not request.user.is_authenticated:
                _staff_event("logout", user=user)
        return response


# --- lists: only what the page offers -----------------------------------------------------------


class OfferedQueryOnly(ChangeList):
    """Django's change list accepts any lookup on the model's own fields
    (``?phone_number__startswith=``), ignores a search on an admin without one and skips an
    ordering it cannot use. Here each of these is a 400 (``DisallowedModelAdminLookup``)."""

    def get_queryset(self, request, exclude_parameters=None):
        if SEARCH_VAR in self.params and not self.search_fields:
            raise DisallowedModelAdminLookup("This list offers no search.")
        return super().get_queryset(request, exclude_parameters)

    def get_ordering(self, request, queryset):
        for part in filter(None, self.params.get(ORDER_VAR, "").split(".")):
            index = part.removeprefix("-")
            sortable = index.isascii() and index.isdigit() and int(index) < len(self.list_display)
            if not sortable or not self.get_ordering_field(self.list_display[int(index)]):
                raise DisallowedModelAdminLookup("Ordering by this column is not offered.")
        return super().get_ordering(request, queryset)


def _expected_parameters(list_filter, request, model_admin) -> list[str]:
    """The query-string parameters one entry of ``list_filter`` reads, built as the change
    list builds it (with no value chosen)."""
    model = model_admin.model
    if callable(list_filter):  # a SimpleListFilter
        return list_filter(request, {}, model, model_admin).expected_parameters()
    field, filter_class = (
        list_filter if isinstance(list_filter, list | tuple) else (list_filter, None)
    )
    field_path = field if isinstance(field, str) else None
    if field_path is not None:
        field = get_fields_from_path(model, field_path)[-1]
    make = filter_class or FieldListFilter.create
    # (arg-type: the change list passes field_path=None for a field given as a Field too.)
    spec = make(field, request, {}, model, model_admin, field_path=field_path)  # type: ignore[arg-type]
    return [name for name in spec.expected_parameters() if name is not None]


class OfferedLookupsOnly(ModelAdminMixin):
    """Only the filters in ``list_filter`` and the ``date_hierarchy`` drill-down, with the
    parameters they themselves use; anything else answers 400. Without this any staff member
    who sees a list could read a field it never shows, one character at a time."""

    def get_changelist(self, request, **kwargs):
        return OfferedQueryOnly

    # (override: Django 5.2 always passes the request; the stubs still list the deprecated None.)
    def lookup_allowed(self, lookup, value, request: HttpRequest) -> bool:  # type: ignore[override]
        return lookup in self.offered_lookups(request)

    def offered_lookups(self, request) -> set[str]:
        offered: set[str] = set()
        for list_filter in self.get_list_filter(request):
            offered.update(_expected_parameters(list_filter, request, self))
        if self.date_hierarchy:
            offered.update(f"{self.date_hierarchy}__{part}" for part in ("year", "month", "day"))
        return offered


class PersonListAudited(OfferedLookupsOnly):
    """A list whose rows belong to people, narrowed by a filter or a search, tells staff
    something about those people: one audit event in the same transaction, naming the list,
    the filters used (never their values) and how many rows matched."""

    def changelist_view(self, request, extra_context=None):
        with transaction.atomic():
            response = super().changelist_view(request, extra_context)
            changelist = getattr(response, "context_data", None) or {}
            changelist = changelist.get("cl")
            if response.status_code == 200 and changelist is not None:
                self._record_narrowing(request, changelist)
        return response

    def _record_narrowing(self, request, changelist: ChangeList) -> None:
        narrowed = sorted(changelist.get_filters_params())
        if changelist.query:
            narrowed.append(SEARCH_VAR)
        if narrowed:
            _staff_event(
                "narrowed_list",
                staff=request.user,
                list_label=self.model._meta.label_lower,
                filters=narrowed,
                results=changelist.result_count,
            )


class StaffViewAudited(PersonListAudited):
    """Opening a row that belongs to a person is a staff view of that person: audited in
    the same transaction as the page (invariant "audited", docs/ARCHITECTURE.md). Its list offers
    only its own filters, and narrowing it is audited too (``PersonListAudited``)."""

    def subject_of(self, obj):
        return obj.subject

    def change_view(self, request, object_id, form_url="", extra_context=None):
        with transaction.atomic():
            response = super().change_view(request, object_id, form_url, extra_context)
            obj = self.get_object(request, unquote(object_id))
            subject = self.subject_of(obj) if obj is not None else None
            if response.status_code == 200 and subject is not None:
                _staff_event("viewed_subject", staff=request.user, subject=subject)
        return response


class ReadOnly:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class RequestDeadline:
    """The legal deadline of a data-subject request on its admin list (``compliance_site.
    deadlines``: one month, GDPR Art. 12(3)): when it is due, the days left while it is open,
    and overdue or late requests flagged. The list is the staff's queue: open first, oldest
    first. The model has ``requested_at``; ``request_done_at`` says when it was answered."""

    def request_done_at(self, obj):
        return obj.completed_at

    @admin.display(description=_("due"), ordering="requested_at")
    def due(self, obj):
        return deadlines.request_due(obj.requested_at)

    @admin.display(description=_("days left"))
    def days_left(self, obj) -> str:
        if self.request_done_at(obj) is not None:
            return "—"
        return str(deadlines.days_left(obj.requested_at, timezone.now()))

    @admin.display(description=_("deadline"))
    def deadline(self, obj) -> str:
        status = deadlines.request_status(
            obj.requested_at, self.request_done_at(obj), timezone.now()
        )
        label = str(_DEADLINE_LABELS[status])
        if status in (deadlines.Deadline.OVERDUE, deadlines.Deadline.LATE):
            return format_html('<strong class="errornote">⚠ {}</strong>', label)
        return label


_DEADLINE_LABELS = {
    deadlines.Deadline.OPEN: _("open"),
    deadlines.Deadline.OVERDUE: _("OVERDUE"),
    deadlines.Deadline.ON_TIME: _("answered within the deadline"),
    deadlines.Deadline.LATE: _("answered LATE"),
}
