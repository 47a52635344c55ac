"""The portal's capture pages and the public retention schedule: thin views over the services.

``/capture/`` works with the camera (``static/biometrics/capture.js`` records the challenge and
posts to the API) and without JavaScript (the form below it posts here).
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from audit.closing import ServiceClosing, check_service_open
from biometrics.forms import CaptureForm
from biometrics.selectors import (
    PURPOSE,
    capture_delete_preview,
    capture_expires_at,
    capture_retention,
    captures_of,
    challenge_page_context,
)
from biometrics.services import capture_create, capture_delete, liveness_challenge_issue
from biometrics.uploads import use_capture_upload_handlers
from compliance_site import inventory
from compliance_site.errors import ApplicationError
from consent.identity.http import SignedInHttpRequest
from consent.ledger.gate import ConsentRequired, require_consent
from consent.ledger.selectors import consent_centre_url


@csrf_exempt  # checked in _capture_view, after the gate, once uploads are set to stay in memory
@login_required
@require_http_methods(["GET", "POST"])
def capture_view(request: SignedInHttpRequest) -> HttpResponse:
    try:
        check_service_open()
    except ServiceClosing as closing:  # the captures page stays: downloads still work
        messages.error(request, closing.detail)
        return redirect("biometrics:captures")
    try:
        if request.method == "POST":
            # The gate before a byte of the body is read (the CSRF check reads it).
            # mutant: delete — tests/biometrics/test_capture_gate_first.py
            #   test_the_portal_upload_form_without_consent_is_refused_before_a_byte_is_read
            require_consent(subject=request.user, purpose=PURPOSE)
            use_capture_upload_handlers(request)
        return _capture_view(request)
    except ConsentRequired:
        return _consent_missing_page(request)
    except ApplicationError as refusal:  # too large, unexpected file: found while parsing
        return _capture_page(
            request, CaptureForm(), error=refusal.detail, status=refusal.status_code
        )


@csrf_protect
def _capture_view(request: SignedInHttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _capture_page(request, CaptureForm())
    form = CaptureForm(request.POST, request.FILES)
    if not form.is_valid():
        return _capture_page(request, form, status=400)
    try:
        capture_create(
            subject=request.user,
            challenge_id=form.cleaned_data["challenge"],
            photo=_read(form.cleaned_data["photo"]),
            video=_read(form.cleaned_data["video"]),
        )
    except ApplicationError as refusal:
        return _capture_page(
            request, CaptureForm(), error=refusal.detail, status=refusal.status_code
        )
    messages.success(request, _("Your face is enrolled. The video was used for the check only."))
    return redirect("biometrics:captures")


def _read(upload) -> bytes:
    try:
        return upload.read()
    finally:
        upload.close()


def _capture_page(
    request: SignedInHttpRequest, form: CaptureForm, *, error: str = "", status: int = 200
):
    """The page with a fresh challenge (issuing one voids the previous one)."""
    try:
        challenge = liveness_challenge_issue(subject=request.user)
    except ConsentRequired:
        return _consent_missing_page(request)
    form.initial["challenge"] = str(challenge.pk)
    if form.is_bound:  # keep the errors, with the new challenge
        data = cast(QueryDict, form.data).copy()  # bound to request.POST
        data["challenge"] = str(challenge.pk)
        form.data = data
    context = {"form": form, "error": error, **challenge_page_context(challenge)}
    return render(request, "biometrics/capture.html", context, status=status)


def _consent_missing_page(request: HttpRequest) -> HttpResponse:
    context = {
        "consent_missing": True,
        "consent_url": consent_centre_url(PURPOSE, back=reverse("biometrics:capture")),
    }
    return render(request, "biometrics/capture.html", context, status=403)


@login_required
@require_GET
def captures_view(request: SignedInHttpRequest) -> HttpResponse:
    purpose = capture_retention()
    rows = [(c, capture_expires_at(c, purpose)) for c in captures_of(request.user)]
    return render(request, "biometrics/captures.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def capture_delete_view(request: SignedInHttpRequest, capture_id: str) -> HttpResponse:
    """GET: check before you delete (the capture, and the copies that go with it); POST
    deletes."""
    if request.method == "GET":
        try:
            preview = capture_delete_preview(subject=request.user, capture_id=capture_id)
        except ApplicationError:
            raise Http404 from None
        return render(request, "biometrics/capture_delete_check.html", {"preview": preview})
    try:
        capture_delete(subject=request.user, capture_id=capture_id)
    except ApplicationError as refusal:
        messages.error(request, refusal.detail)
    else:
        messages.success(request, _("The capture is deleted: its photo, face template and data."))
    return redirect("biometrics:captures")


@require_GET
def retention_view(request: HttpRequest) -> HttpResponse:
    """Public: what we keep, why, and for how long, from the one inventory."""
    return render(request, "biometrics/retention.html", {"stores": inventory.stores()})
