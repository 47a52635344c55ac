"""The portal (sign-in, consent centre, privacy notice): thin views over the API's services."""

from __future__ import annotations

import json

import phonenumbers
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from compliance_site.errors import ApplicationError
from compliance_site.http import attachment
from consent.erasure import erasure_certificate, erasure_for_token, erasure_request
from consent.forms import (
    CodeForm,
    GuardianCodeForm,
    GuardianPhoneForm,
    PhoneForm,
    PolicyQuoteForm,
    PurposeForm,
)
from consent.models import LANGUAGE_CHOICES, ConsentRecord, SessionNumber
from consent.receipts import receipt_pdf
from consent.reports import (
    erasure_certificate_pdf,
    export_json,
    export_zip,
    report_job_download,
    report_job_status,
    report_request,
)
from consent.selectors import (
    check_language,
    client_evidence_for,
    client_ip_for,
    consent_history_for,
    consent_record_for_receipt,
    consent_states_for,
    minor_declared_on,
    policies_current,
    policy_text_for,
    requested_language,
)
from consent.services import (
    consent_grant,
    consent_guardian_grant,
    consent_withdraw,
    guardian_code_request,
    minor_declaration_create,
    otp_request,
    session_login,
    session_logout,
)
from consent.session_numbers import (
    session_number_for,
    session_number_hold,
    session_number_release,
)

# The page to return to after sign-in: carried through the sign-in form (a GET writes no
# session), kept in the session from the POST that sends the code. The number being signed in
# is never in the session (``consent.session_numbers``).
_NEXT_KEY = "consent.login.next"
_LOGIN = SessionNumber.Kind.LOGIN


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("consent:dashboard")
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    held = session_number_for(session=request.session, kind=_LOGIN)
    form = PhoneForm(request.POST or None, initial={"phone": held and held.phone_number})
    context = {"form": form, "next": next_url}
    if request.method == "POST" and form.is_valid():
        try:
            phone = otp_request(phone=form.cleaned_data["phone"], client_ip=client_ip_for(request))
        except ApplicationError as exc:
            form.add_error("phone", exc.detail)
            return render(request, "consent/login.html", context, status=exc.status_code)
        session_number_hold(session=request.session, kind=_LOGIN, phone=phone)
        request.session[_NEXT_KEY] = next_url
        messages.info(request, _sent_message())
        return redirect("consent:login_verify")
    status = 400 if form.errors else 200
    return render(request, "consent/login.html", context, status=status)


@require_http_methods(["GET", "POST"])
def login_verify_view(request: HttpRequest) -> HttpResponse:
    held = session_number_for(session=request.session, kind=_LOGIN)
    if held is None:
        messages.info(request, _("Enter your mobile number to get a code."))
        return redirect("consent:login")
    form = CodeForm(request.POST or None)
    context = {"form": form, "phone": _display(held.phone_number)}
    if request.method == "POST" and form.is_valid():
        try:
            session_login(request=request, phone=held.phone_number, code=form.cleaned_data["code"])
        except ApplicationError as exc:
            form.add_error("code", exc.detail)
            context["locked_out"] = exc.code == "locked_out"
            return render(request, "consent/login_verify.html", context, status=exc.status_code)
        session_number_release(session=request.session, kind=_LOGIN)
        messages.success(request, _("You are signed in."))
        return redirect(request.session.pop(_NEXT_KEY, None) or "consent:dashboard")
    status = 400 if form.errors else 200
    return render(request, "consent/login_verify.html", context, status=status)


@login_required
def dashboard_view(request: HttpRequest) -> HttpResponse:
    return render(request, "consent/dashboard.html", {"phone": _display(request.user.phone_number)})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    session_number_release(session=request.session, kind=_GUARDIAN)
    session_logout(request=request)
    messages.info(request, _("You are signed out."))
    return redirect("consent:login")


def _sent_message() -> str:
    minutes = max(1, settings.OTP_SMS_CODE_VALIDITY // 60)
    return ngettext(
        "We sent a code by text message. It is valid for %(n)d minute.",
        "We sent a code by text message. It is valid for %(n)d minutes.",
        minutes,
    ) % {"n": minutes}


def _safe_next(request: HttpRequest, target: str) -> str:
    """``target`` if it is a page of this site, else nothing (no open redirect)."""
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and safe else ""


def _display(phone) -> str:
    try:
        number = phonenumbers.parse(str(phone), None)
    except phonenumbers.NumberParseException:
        return str(phone)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# --- the consent centre -------------------------------------------------------------------------

# The parent's or guardian's number and the purpose they are asked to grant are held between
# the code request and the grant (``consent.session_numbers``), never in the session.
_GUARDIAN = SessionNumber.Kind.GUARDIAN


def _page_language(request: HttpRequest) -> str:
    try:
        return requested_language(request)
    except ApplicationError:
        return check_language(translation.get_language() or "en")


def _centre_url(language: str, anchor: str = "") -> str:
    url = f"{reverse('consent:centre')}?lang={language}"
    return f"{url}#{anchor}" if anchor else url


def _centre_context(request: HttpRequest, language: str) -> dict:
    states = {s.purpose.code: s for s in consent_states_for(request.user)}
    cards = [
        {"policy": policy, "consent": states[policy.purpose.code]}
        for policy in policies_current(language)
    ]
    return {
        "language": language,
        "languages": LANGUAGE_CHOICES,
        "cards": cards,
        "history": consent_history_for(request.user),
        "minor_declared_on": minor_declared_on(request.user),
        "guardian_form": GuardianPhoneForm(),
    }


def _centre(request: HttpRequest, language: str, *, status: int = 200, error: str = ""):
    with translation.override(language):
        context = _centre_context(request, language)
        if error:
            context["error"] = error
        return render(request, "consent/centre.html", context, status=status)


@login_required
@require_GET
def consent_centre_view(request: HttpRequest) -> HttpResponse:
    return _centre(request, _page_language(request))


def _posted_language(request: HttpRequest) -> str:
    try:
        return check_language(request.POST.get("lang", "") or "en")
    except ApplicationError:
        return "en"


def _form_error() -> str:
    return _("The form was not complete. Reload the page and try again.")


@login_required
@require_POST
def consent_grant_view(request: HttpRequest) -> HttpResponse:
    language = _posted_language(request)
    form = PolicyQuoteForm(request.POST)
    if not form.is_valid():
        return _centre(request, language, status=400, error=_form_error())
    evidence = client_evidence_for(request, method=ConsentRecord.Method.PORTAL)
    try:
        record = consent_grant(subject=request.user, evidence=evidence, **form.cleaned_data)
    except ApplicationError as exc:
        return _centre(request, language, status=exc.status_code, error=exc.detail)
    messages.success(request, _("Thank you. Your consent is recorded and your receipt is below."))
    return redirect(_centre_url(language, f"purpose-{record.purpose.code}"))


@login_required
@require_POST
def consent_withdraw_view(request: HttpRequest) -> HttpResponse:
    language = _posted_language(request)
    form = PurposeForm(request.POST)
    if not form.is_valid():
        return _centre(request, language, status=400, error=_form_error())
    evidence = client_evidence_for(request, method=ConsentRecord.Method.PORTAL)
    try:
        consent_withdraw(
            subject=request.user, purpose=form.cleaned_data["purpose"], evidence=evidence
        )
    except ApplicationError as exc:
        return _centre(request, language, status=exc.status_code, error=exc.detail)
    messages.success(request, _("Your consent is withdrawn, and the data it covered is erased."))
    return redirect(_centre_url(language, f"purpose-{form.cleaned_data['purpose']}"))


@login_required
@require_POST
def minor_declaration_view(request: HttpRequest) -> HttpResponse:
    language = _posted_language(request)
    evidence = client_evidence_for(request, method=ConsentRecord.Method.PORTAL)
    try:
        minor_declaration_create(subject=request.user, evidence=evidence)
    except ApplicationError as exc:
        return _centre(request, language, status=exc.status_code, error=exc.detail)
    messages.info(request, _("Thank you. From now on a parent or guardian gives your consents."))
    return redirect(_centre_url(language, "minors"))


@login_required
@require_POST
def guardian_request_view(request: HttpRequest) -> HttpResponse:
    language = _posted_language(request)
    form = GuardianPhoneForm(request.POST)
    if not form.is_valid():
        return _centre(request, language, status=400, error=_form_error())
    try:
        phone = guardian_code_request(
            subject=request.user,
            phone=form.cleaned_data["phone"],
            purpose=form.cleaned_data["purpose"],
            client_ip=client_ip_for(request),
        )
    except ApplicationError as exc:
        return _centre(request, language, status=exc.status_code, error=exc.detail)
    session_number_hold(
        session=request.session,
        kind=_GUARDIAN,
        phone=phone,
        subject=request.user,
        purpose=form.cleaned_data["purpose"],
    )
    messages.info(request, _("We sent a code to the parent or guardian by text message."))
    return redirect(f"{reverse('consent:guardian')}?lang={language}")


def _guardian_page(
    request: HttpRequest, language: str, pending: SessionNumber, form, status: int = 200
):
    with translation.override(language):
        policy = next(
            (p for p in policies_current(language) if p.purpose.code == pending.purpose), None
        )
        context = {
            "language": language,
            "languages": LANGUAGE_CHOICES,
            "policy": policy,
            "phone": _display(pending.phone_number),
            "form": form,
        }
        return render(request, "consent/guardian.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def guardian_grant_view(request: HttpRequest) -> HttpResponse:
    pending = session_number_for(session=request.session, kind=_GUARDIAN, subject=request.user)
    if pending is None:
        messages.info(request, _("First enter the parent's or guardian's number."))
        return redirect("consent:centre")
    if request.method == "GET":
        return _guardian_page(request, _page_language(request), pending, GuardianCodeForm())
    language = _posted_language(request)
    form = GuardianCodeForm(request.POST)
    if not form.is_valid():
        return _guardian_page(request, language, pending, form, status=400)
    evidence = client_evidence_for(request, method=ConsentRecord.Method.PORTAL)
    try:
        consent_guardian_grant(
            subject=request.user,
            phone=pending.phone_number,
            evidence=evidence,
            **form.cleaned_data,
        )
    except ApplicationError as exc:
        form.add_error("code" if exc.code in _CODE_ERRORS else None, exc.detail)
        return _guardian_page(request, language, pending, form, status=exc.status_code)
    session_number_release(session=request.session, kind=_GUARDIAN)
    messages.success(
        request, _("Thank you. The consent given by the parent or guardian is recorded.")
    )
    return redirect(_centre_url(language, f"purpose-{form.cleaned_data['purpose']}"))


_CODE_ERRORS = {"invalid_code", "locked_out", "rate_limited"}


@login_required
@require_GET
def receipt_view(request: HttpRequest, receipt_id) -> HttpResponse:
    record = _own_record(request, receipt_id)
    receipt = json.loads(record.receipt)
    with translation.override(record.language):
        context = {"record": record, "receipt": receipt, "pretty": record.receipt}
        return render(request, "consent/receipt.html", context)


@login_required
@require_GET
def receipt_json_view(request: HttpRequest, receipt_id) -> HttpResponse:
    record = _own_record(request, receipt_id)
    return attachment(
        record.receipt, "application/json; charset=utf-8", f"receipt-{receipt_id}.json"
    )


@login_required
@require_GET
def receipt_pdf_view(request: HttpRequest, receipt_id) -> HttpResponse:
    record = _own_record(request, receipt_id)
    pdf = receipt_pdf(json.loads(record.receipt), policy_text_for(record).text)
    return attachment(pdf, "application/pdf", f"receipt-{receipt_id}.pdf")


def _own_record(request: HttpRequest, receipt_id) -> ConsentRecord:
    try:
        return consent_record_for_receipt(request.user, receipt_id)
    except ApplicationError:
        raise Http404(_("There is no such receipt.")) from None


@require_GET
def privacy_view(request: HttpRequest) -> HttpResponse:
    """The public privacy notice, generated from the current policies (no sign-in)."""
    language = _page_language(request)
    with translation.override(language):
        context = {
            "language": language,
            "languages": LANGUAGE_CHOICES,
            "policies": policies_current(language),
            "controller": {
                "name": settings.CONTROLLER_NAME,
                "address": settings.CONTROLLER_ADDRESS,
                "email": settings.CONTROLLER_EMAIL,
                "contact": settings.CONTROLLER_CONTACT,
                "phone": settings.CONTROLLER_PHONE,
            },
        }
        return render(request, "consent/privacy.html", context)


# --- account erasure ----------------------------------------------------------------------------

# The erasure's status token, in the anonymous session that follows the account's last one.
_ERASURE_KEY = "consent.erasure.token"


@login_required
@require_http_methods(["GET", "POST"])
def account_delete_view(request: HttpRequest) -> HttpResponse:
    """Asks once; the POST erases the account and shows progress, then the certificate."""
    if request.method == "GET":
        return render(request, "consent/account_delete.html")
    try:
        _erasure, token = erasure_request(subject=request.user)
    except ApplicationError as exc:
        return render(request, "consent/account_delete.html", {"error": exc.detail}, status=409)
    # End the account's session without an audit event naming the subject (by now the
    # erasure may have forgotten them), and keep only the status token in a fresh one.
    request.session.flush()
    request.user = AnonymousUser()
    request.session[_ERASURE_KEY] = token
    return redirect("consent:account_delete_status")


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
    context = {"erasure": erasure, "certificate": erasure_certificate(erasure)}
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
        pdf = erasure_certificate_pdf(erasure=erasure, language=_page_language(request))
    except ApplicationError:
        raise Http404 from None
    return attachment(pdf, "application/pdf", f"erasure-{erasure.pk}.pdf")


# --- your data: the report and the export -------------------------------------------------------


@login_required
@require_GET
def report_view(request: HttpRequest) -> HttpResponse:
    """The report at once, or (a long history) a job whose page shows its progress."""
    outcome = report_request(subject=request.user, language=_page_language(request))
    if outcome.pdf is not None:
        return attachment(outcome.pdf, "application/pdf", "faceledger-report.pdf")
    assert outcome.job is not None  # no PDF means a job
    return redirect("consent:report_status", job_id=outcome.job.pk)


@login_required
@require_GET
def report_status_view(request: HttpRequest, job_id) -> HttpResponse:
    try:
        job = report_job_status(subject=request.user, job_id=job_id)
    except ApplicationError:
        raise Http404(_("There is no such report.")) from None
    return render(request, "consent/report_status.html", {"job": job})


@login_required
@require_GET
def report_download_view(request: HttpRequest, job_id) -> HttpResponse:
    try:
        pdf = report_job_download(subject=request.user, job_id=job_id)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return redirect("consent:report_status", job_id=job_id)
    return attachment(pdf, "application/pdf", f"faceledger-report-{job_id}.pdf")


@login_required
@require_GET
def export_json_view(request: HttpRequest) -> HttpResponse:
    body = export_json(subject=request.user, language=_page_language(request))
    return attachment(body, "application/json; charset=utf-8", "faceledger-export.json")


@login_required
@require_GET
def export_zip_view(request: HttpRequest) -> HttpResponse:
    body = export_zip(subject=request.user, language=_page_language(request))
    return attachment(body, "application/zip", "faceledger-export.zip")
