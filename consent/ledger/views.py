"""Portal pages of the consent ledger: the consent centre, guardians, receipts, privacy."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from compliance_site import inventory
from compliance_site.client_address import client_ip_for
from compliance_site.errors import ApplicationError
from compliance_site.http import attachment
from consent.identity.http import SignedInHttpRequest
from consent.identity.models import SessionNumber
from consent.identity.selectors import (
    phone_display,
    phone_region_choices,
    phone_region_for_language,
)
from consent.identity.session_numbers import (
    session_number_for,
    session_number_hold,
    session_number_release,
)
from consent.ledger.forms import (
    AgeForm,
    GuardianCodeForm,
    GuardianPhoneForm,
    PolicyQuoteForm,
    PurposeForm,
)
from consent.ledger.models import LANGUAGE_CHOICES, ConsentRecord
from consent.ledger.receipts import receipt_pdf
from consent.ledger.selectors import (
    age_stated,
    check_language,
    client_evidence_for,
    consent_history_for,
    consent_record_27560_for,
    consent_record_for_receipt,
    consent_states_for,
    minor_declared_on,
    page_language,
    policies_current,
    policy_text_for,
    safe_back_path,
    withdrawal_preview_for,
)
from consent.ledger.services import (
    PolicyQuote,
    age_state,
    consent_grant,
    consent_guardian_grant,
    consent_withdraw,
    guardian_code_request,
    minor_declaration_create,
)

# --- the consent centre -------------------------------------------------------------------------

# The parent's or guardian's number and the purpose they are asked to grant are held between
# the code request and the grant (``consent.identity.session_numbers``), never in the session.
_GUARDIAN = SessionNumber.Kind.GUARDIAN


def _centre_url(language: str, anchor: str = "", back: str = "") -> str:
    query = {"lang": language, **({"next": back} if back else {})}
    url = f"{reverse('consent:centre')}?{urlencode(query, safe='/')}"
    return f"{url}#{anchor}" if anchor else url


def _back(request: HttpRequest) -> str:
    """The page that sent the person here for a consent (``?next=``), if it is ours."""
    return safe_back_path(request.POST.get("next", "") or request.GET.get("next", ""))


def _centre_context(request: SignedInHttpRequest, language: str) -> dict:
    states = {s.purpose.code: s for s in consent_states_for(request.user)}
    policies = policies_current(language)
    cards = [{"policy": policy, "consent": states[policy.purpose.code]} for policy in policies]
    return {
        "language": language,
        "languages": LANGUAGE_CHOICES,
        "cards": cards,
        "history": consent_history_for(request.user),
        "minor_declared_on": minor_declared_on(request.user),
        "age_stated": age_stated(request.user),
        "age_form": AgeForm(),
        # A child asks a guardian for any of these at once, with one code.
        "guardian_purposes": [p for p in policies if states[p.purpose.code].state != "granted"],
        "guardian_regions": phone_region_choices(language),
        "guardian_region": phone_region_for_language(language),
        "back": _back(request),
    }


def _centre(request: SignedInHttpRequest, language: str, *, status: int = 200, error: str = ""):
    with translation.override(language):
        context = _centre_context(request, language)
        if error:
            context["error"] = error
        return render(request, "consent/centre.html", context, status=status)


@login_required
@require_GET
def consent_centre_view(request: SignedInHttpRequest) -> HttpResponse:
    return _centre(request, page_language(request))


def _posted_language(request: HttpRequest) -> str:
    try:
        return check_language(request.POST.get("lang", "") or "en")
    except ApplicationError:
        return "en"


def _form_error() -> str:
    return _("The form was not complete. Reload the page and try again.")


@login_required
@require_POST
def consent_grant_view(request: SignedInHttpRequest) -> HttpResponse:
    language = _posted_language(request)
    form = PolicyQuoteForm(request.POST)
    if not form.is_valid():
        return _centre(request, language, status=400, error=_form_error())
    evidence = client_evidence_for(request, method=ConsentRecord.Method.PORTAL)
    try:
        record = consent_grant(subject=request.user, evidence=evidence, **form.cleaned_data)
    except ApplicationError as exc:
        return _centre(request, language, status=exc.status_code, error=exc.detail)
    back = _back(request)
    if back:  # back to the page that needed it
        messages.success(
            request, _("Thank you. Your consent is recorded; its receipt is in your consents.")
        )
        return redirect(back)
    messages.success(request, _("Thank you. Your consent is recorded and your receipt is below."))
    return redirect(_centre_url(language, f"purpose-{record.purpose.code}"))


@login_required
@require_http_methods(["GET", "POST"])
def consent_withdraw_view(request: SignedInHttpRequest) -> HttpResponse:
    """GET: check before you withdraw (what will be erased, what remains); POST withdraws."""
    if request.method == "GET":
        return _withdraw_check(request)
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


def _withdraw_check(request: SignedInHttpRequest) -> HttpResponse:
    language = page_language(request)
    form = PurposeForm(request.GET)
    if not form.is_valid():
        return _centre(request, language, status=400, error=_form_error())
    code = form.cleaned_data["purpose"]
    with translation.override(language):
        try:
            preview = withdrawal_preview_for(request.user, code)
        except ApplicationError as exc:
            return _centre(request, language, status=exc.status_code, error=exc.detail)
        [policy] = [p for p in policies_current(language) if p.purpose.code == code]
        context = {"language": language, "policy": policy, "preview": preview}
        return render(request, "consent/withdraw_check.html", context)


@login_required
@require_POST
def age_view(request: SignedInHttpRequest) -> HttpResponse:
    """The age step. Under 14 goes straight to asking a parent or guardian."""
    language = _posted_language(request)
    form = AgeForm(request.POST)
    if not form.is_valid():
        return _centre(request, language, status=400, error=_form_error())
    evidence = client_evidence_for(request, method=ConsentRecord.Method.PORTAL)
    try:
        under_14 = age_state(
            subject=request.user, birth_year=form.cleaned_data["year_of_birth"], evidence=evidence
        )
    except ApplicationError as exc:
        return _centre(request, language, status=exc.status_code, error=exc.detail)
    if under_14:
        messages.info(
            request,
            _(
                "Thank you. As you may be under 14, a parent or guardian gives your consents: "
                "ask them below."
            ),
        )
        return redirect(_centre_url(language, "guardian"))
    messages.success(request, _("Thank you. You can now choose your consents."))
    return redirect(_centre_url(language, back=_back(request)))


@login_required
@require_POST
def minor_declaration_view(request: SignedInHttpRequest) -> HttpResponse:
    language = _posted_language(request)
    evidence = client_evidence_for(request, method=ConsentRecord.Method.PORTAL)
    try:
        minor_declaration_create(subject=request.user, evidence=evidence)
    except ApplicationError as exc:
        return _centre(request, language, status=exc.status_code, error=exc.detail)
    messages.info(request, _("Thank you. From now on a parent or guardian gives your consents."))
    return redirect(_centre_url(language, "guardian"))


def _purpose_codes() -> list[str]:
    return [policy.purpose.code for policy in policies_current("en")]


@login_required
@require_POST
def guardian_request_view(request: SignedInHttpRequest) -> HttpResponse:
    language = _posted_language(request)
    form = GuardianPhoneForm(request.POST, purposes=_purpose_codes())
    if not form.is_valid():
        return _centre(request, language, status=400, error=_form_error())
    purposes = form.cleaned_data["purpose"]
    try:
        phone = guardian_code_request(
            subject=request.user,
            phone=form.cleaned_data["phone"],
            region=form.cleaned_data["region"],
            purposes=purposes,
            client_ip=client_ip_for(request),
        )
    except ApplicationError as exc:
        return _centre(request, language, status=exc.status_code, error=exc.detail)
    session_number_hold(
        session=request.session,
        kind=_GUARDIAN,
        phone=phone,
        subject=request.user,
        purpose=",".join(sorted(purposes)),
    )
    messages.info(request, _("We sent a code to the parent or guardian by text message."))
    return redirect(f"{reverse('consent:guardian')}?lang={language}")


def _guardian_page(
    request: HttpRequest, language: str, pending: SessionNumber, form, status: int = 200
):
    chosen = pending.purpose.split(",")
    with translation.override(language):
        policies = [p for p in policies_current(language) if p.purpose.code in chosen]
        context = {
            "language": language,
            "languages": LANGUAGE_CHOICES,
            "policies": policies if len(policies) == len(chosen) else [],
            "phone": phone_display(pending.phone_number),
            "form": form,
        }
        return render(request, "consent/guardian.html", context, status=status)


def _posted_quotes(request: HttpRequest) -> list[PolicyQuote] | None:
    """The texts the guardian's page quoted (repeated purpose/version/sha256), or None."""
    fields = [request.POST.getlist(name) for name in ("purpose", "version", "sha256")]
    if not fields[0] or len({len(values) for values in fields}) != 1:
        return None
    quotes = []
    for purpose, version, sha256 in zip(*fields, strict=True):
        form = PolicyQuoteForm({"purpose": purpose, "version": version, "sha256": sha256})
        if not form.is_valid():
            return None
        quotes.append(PolicyQuote(**form.cleaned_data))
    return quotes


@login_required
@require_http_methods(["GET", "POST"])
def guardian_grant_view(request: SignedInHttpRequest) -> HttpResponse:
    pending = session_number_for(session=request.session, kind=_GUARDIAN, subject=request.user)
    if pending is None:
        messages.info(request, _("First enter the parent's or guardian's number."))
        return redirect("consent:centre")
    if request.method == "GET":
        return _guardian_page(request, page_language(request), pending, GuardianCodeForm())
    language = _posted_language(request)
    form = GuardianCodeForm(request.POST)
    quotes = _posted_quotes(request)
    if not form.is_valid() or quotes is None:
        if quotes is None:
            form.add_error(None, _form_error())
        return _guardian_page(request, language, pending, form, status=400)
    try:
        consent_guardian_grant(
            subject=request.user,
            phone=pending.phone_number,
            code=form.cleaned_data["code"],
            relationship=form.cleaned_data["relationship"],
            quotes=quotes,
            evidence=client_evidence_for(request, method=ConsentRecord.Method.PORTAL),
            client_ip=client_ip_for(request),
        )
    except ApplicationError as exc:
        form.add_error("code" if exc.code in _CODE_ERRORS else None, exc.detail)
        return _guardian_page(request, language, pending, form, status=exc.status_code)
    session_number_release(session=request.session, kind=_GUARDIAN)
    messages.success(
        request, _("Thank you. The consents given by the parent or guardian are recorded.")
    )
    return redirect(_centre_url(language, "history"))


_CODE_ERRORS = {"invalid_code", "locked_out", "rate_limited"}


@login_required
@require_GET
def receipt_view(request: SignedInHttpRequest, receipt_id) -> HttpResponse:
    record = _own_record(request, receipt_id)
    receipt = json.loads(record.receipt)
    with translation.override(record.language):
        context = {"record": record, "receipt": receipt, "pretty": record.receipt}
        return render(request, "consent/receipt.html", context)


@login_required
@require_GET
def receipt_json_view(request: SignedInHttpRequest, receipt_id) -> HttpResponse:
    record = _own_record(request, receipt_id)
    return attachment(
        record.receipt, "application/json; charset=utf-8", f"receipt-{receipt_id}.json"
    )


@login_required
@require_GET
def record_27560_view(request: SignedInHttpRequest, receipt_id) -> HttpResponse:
    try:
        record = consent_record_27560_for(request.user, receipt_id)
    except ApplicationError:
        raise Http404(_("There is no such receipt.")) from None
    name = f"consent-record-27560-{receipt_id}.json"
    return attachment(record.record_27560 or "", "application/json; charset=utf-8", name)


@login_required
@require_GET
def receipt_pdf_view(request: SignedInHttpRequest, receipt_id) -> HttpResponse:
    record = _own_record(request, receipt_id)
    pdf = receipt_pdf(json.loads(record.receipt), policy_text_for(record).text)
    return attachment(pdf, "application/pdf", f"receipt-{receipt_id}.pdf")


def _own_record(request: SignedInHttpRequest, receipt_id) -> ConsentRecord:
    try:
        return consent_record_for_receipt(request.user, receipt_id)
    except ApplicationError:
        raise Http404(_("There is no such receipt.")) from None


@require_GET
def privacy_view(request: HttpRequest) -> HttpResponse:
    """The public privacy notice, generated from the current policies (no sign-in)."""
    language = page_language(request)
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
                "representative": settings.CONTROLLER_REPRESENTATIVE,
                "dpo": settings.DPO_NAME,
                "dpo_email": settings.DPO_EMAIL,
                "country": settings.CONTROLLER_JURISDICTION,
            },
            "recipients": inventory.recipients_record(),
            "log_retention_days": settings.LOG_RETENTION_DAYS,
        }
        return render(request, "consent/privacy.html", context)
