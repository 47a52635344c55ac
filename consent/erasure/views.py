"""Portal pages of account erasure."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from compliance_site.client_address import client_ip_for
from compliance_site.errors import ApplicationError
from compliance_site.http import attachment
from consent.erasure.forms import ERASE_WORDS, EraseForm
from consent.erasure.selectors import certificate_lines, erasure_preview_for
from consent.erasure.services import (
    erasure_certificate,
    erasure_certificate_pdf,
    erasure_code_send,
    erasure_for_token,
    erasure_request_confirmed,
)
from consent.identity.http import SignedInHttpRequest
from consent.identity.selectors import phone_display
from consent.ledger.selectors import page_language

# --- account erasure ----------------------------------------------------------------------------

# The erasure's status token, in the anonymous session that follows the account's last one.
_ERASURE_KEY = "consent.erasure.token"


@login_required
@require_http_methods(["GET", "POST"])
def account_delete_view(request: SignedInHttpRequest) -> HttpResponse:
    """GET: what will be erased, and a button that sends a fresh code. POST ``step=send``
    sends it and asks for the code and the typed words; POST ``step=erase`` checks both,
    erases the account and shows progress, then the certificate."""
    if request.method == "GET":
        return _delete_page(request)
    if request.POST.get("step") == "send":
        try:
            erasure_code_send(subject=request.user, client_ip=client_ip_for(request))
        except ApplicationError as exc:
            return _delete_page(request, error=exc.detail, status=exc.status_code)
        return _delete_page(request, EraseForm())
    form = EraseForm(request.POST)
    if not form.is_valid():
        return _delete_page(request, form, status=400)
    try:
        _erasure, token = erasure_request_confirmed(
            subject=request.user,
            code=form.cleaned_data["code"],
            client_ip=client_ip_for(request),
        )
    except ApplicationError as exc:
        form.add_error("code", exc.detail)
        return _delete_page(request, form, status=exc.status_code)
    # End the account's session without an audit event naming the subject (by now the
    # erasure may have forgotten them), and keep only the status token in a fresh one.
    request.session.flush()
    # (assignment: from here on the request is anonymous; the account no longer exists.)
    request.user = AnonymousUser()  # type: ignore[assignment]
    request.session[_ERASURE_KEY] = token
    return redirect("consent:account_delete_status")


def _delete_page(
    request: SignedInHttpRequest,
    form: EraseForm | None = None,
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "error": error,
        "erases": erasure_preview_for(request.user),
        "phone": phone_display(request.user.phone_number),
        "words": ERASE_WORDS,
    }
    return render(request, "consent/account_delete.html", context, status=status)


def _erasure_from_session(request: HttpRequest):
    token = request.session.get(_ERASURE_KEY)
    if not token:
        raise Http404
    try:
        return erasure_for_token(token)
    except ApplicationError:
        raise Http404 from None


@require_GET
def account_delete_status_view(request: HttpRequest) -> HttpResponse:
    erasure = _erasure_from_session(request)
    certificate = erasure_certificate(erasure)
    lines = certificate_lines(certificate) if certificate else []
    context = {"erasure": erasure, "certificate": certificate, "lines": lines}
    return render(request, "consent/account_delete_status.html", context)


@require_GET
def account_delete_certificate_view(request: HttpRequest) -> HttpResponse:
    erasure = _erasure_from_session(request)
    if not erasure.certificate:
        raise Http404
    return attachment(
        erasure.certificate, "application/json; charset=utf-8", f"erasure-{erasure.pk}.json"
    )


@require_GET
def account_delete_certificate_pdf_view(request: HttpRequest) -> HttpResponse:
    erasure = _erasure_from_session(request)
    try:
        pdf = erasure_certificate_pdf(erasure=erasure, language=page_language(request))
    except ApplicationError:
        raise Http404 from None
    return attachment(pdf, "application/pdf", f"erasure-{erasure.pk}.pdf")
