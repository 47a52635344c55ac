"""Portal pages of identity: SMS sign-in and sign-out, the dashboard."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from compliance_site import progress
from compliance_site.client_address import client_ip_for
from compliance_site.errors import ApplicationError
from consent.identity.forms import CodeForm, PhoneForm
from consent.identity.http import SignedInHttpRequest
from consent.identity.models import SessionNumber
from consent.identity.selectors import phone_display
from consent.identity.services import otp_request, session_login, session_logout
from consent.identity.session_numbers import (
    session_number_for,
    session_number_hold,
    session_number_release,
)

_NEXT_KEY = "consent.login.next"
_LOGIN = SessionNumber.Kind.LOGIN
_GUARDIAN = SessionNumber.Kind.GUARDIAN


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
            phone = otp_request(
                phone=form.cleaned_data["phone"],
                region=form.cleaned_data["region"],
                client_ip=client_ip_for(request),
            )
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
    context = {"form": form, "phone": phone_display(held.phone_number)}
    if request.method == "POST" and form.is_valid():
        try:
            session_login(
                request=request,
                phone=held.phone_number,
                code=form.cleaned_data["code"],
                client_ip=client_ip_for(request),
            )
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
def dashboard_view(request: SignedInHttpRequest) -> HttpResponse:
    path = progress.path_for(request.user)
    context = {
        "phone": phone_display(request.user.phone_number),
        "path": path,
        "next": next((p.step for p in path if p.state == "next"), None),
        "last": path[-1].step if path else None,
    }
    return render(request, "consent/dashboard.html", context)


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
