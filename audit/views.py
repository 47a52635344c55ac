"""The auditor's page (``/auditor/``) and the public transparency page (``/transparency/``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from audit import selectors, signing
from audit.actions import AuditAction
from audit.models import AuditEvent
from audit.services import VERIFIER_PATH, verifier_sha256


@require_GET
def auditor_view(request: HttpRequest) -> HttpResponse:
    """Auditors signed in to the staff admin with their TOTP code (``is_verified``): a staff
    member signed in by SMS code alone is sent to the admin sign-in."""
    # (attr-defined: django-otp's middleware gives the user is_verified().)
    if not (request.user.is_authenticated and request.user.is_verified()):  # type: ignore[attr-defined]
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if not selectors.is_auditor(request.user):
        raise PermissionDenied
    exports = AuditEvent.objects.filter(action=AuditAction.AUDITOR_EXPORTED).order_by("-id")
    context = {
        "checkpoint": selectors.checkpoint_latest(),
        "exports": exports.values("time", "actor", "data_jcs")[:10],
    }
    return render(request, "audit/auditor.html", context)


@require_GET
def transparency_view(request: HttpRequest) -> HttpResponse:
    """Public: the latest checkpoint and who cosigned it, the public key, how to keep a
    checkpoint and check the log against it later, how to verify, the verifier, and whether
    swap outputs carry C2PA Content Credentials (if not, the operator's stated reason)."""
    checkpoint = selectors.checkpoint_latest()
    witnesses = selectors.configured_witnesses()
    context = {
        "checkpoint": checkpoint,
        "cosigners": selectors.checkpoint_cosigners(checkpoint, witnesses) if checkpoint else [],
        "witnesses": witnesses,
        "quorum": settings.AUDIT_WITNESS_QUORUM,
        "log_vkey": signing.checkpoint_verifier().vkey,
        "keys": signing.key_history_json(),
        "verifier_sha256": verifier_sha256(),
        "c2pa_signing": bool(settings.SWAP_C2PA_CERT_CHAIN),
        "c2pa_disabled_reason": settings.C2PA_DISABLED_REASON,
    }
    return render(request, "audit/transparency.html", context)


@require_GET
def verifier_view(request: HttpRequest) -> FileResponse:
    return FileResponse(
        VERIFIER_PATH.open("rb"),
        as_attachment=True,
        filename="verify_audit.py",
        content_type="text/x-python; charset=utf-8",
    )
