"""The portal's swap page: thin views over the services and selectors.

``/swaps/`` lists the subject's swaps (and the notices of results erased because the person in
their template withdrew) and asks for new ones; ``static/swap/swaps.js`` polls the
API for the progress of running ones (no inline script). Results are shown and downloaded
through the API's result endpoint, with the portal session.

``/depicted/withdraw/`` is public (no account): a depicted person types the withdrawal secret
printed on their consent record and withdraws their consent to face editing.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from biometrics.selectors import captures_of
from compliance_site.errors import ApplicationError, RateLimited
from consent.identity.http import SignedInHttpRequest
from consent.ledger.gate import GRANTED, consent_state
from consent.ledger.selectors import consent_centre_url
from swap.forms import DepictedWithdrawalForm, MarkCheckForm, SwapRequestForm
from swap.models import SwapJob
from swap.selectors import (
    PURPOSE,
    STORAGE_PURPOSE,
    TEMPLATE_REFUSALS,
    notice_text,
    notices_of,
    swap_job_for,
    swap_jobs_of,
    template_usable_until,
    templates_usable,
)
from swap.services import (
    swap_job_delete,
    swap_job_request,
    swap_mark_check,
    swap_template_withdraw_by_secret,
)
from swap.throttles import mark_check_attempt_check, withdrawal_attempt_check

# People read these; jobs store stable codes.
JOB_ERRORS = {
    "no_target_face": gettext_lazy("No face was found in the template."),
    "no_source_face": gettext_lazy("No face was found in your capture."),
    "face_turned_away": gettext_lazy("The face in the template is turned too far from the camera."),
    "source_turned_away": gettext_lazy(
        "Your face is turned too far from the camera in your capture."
    ),
    "corrupt_image": gettext_lazy("The template cannot be read."),
    "corrupt_video": gettext_lazy("The template cannot be read."),
    "template_unreadable": gettext_lazy("The template cannot be read."),
    "capture_deleted": gettext_lazy("The capture was deleted before the swap was made."),
    "capture_unreadable": gettext_lazy("Your capture could not be read."),
    "consent_required": gettext_lazy("Your consent to face swaps was withdrawn."),
    "consent_outdated": gettext_lazy("The face-swap policy changed: consent again to swap."),
    "cancelled_by_subject": gettext_lazy("You cancelled it."),
    "worker_lost": gettext_lazy("It could not be finished. Please try again."),
    "time_limit": gettext_lazy("It took too long and was stopped. Please try again."),
    **TEMPLATE_REFUSALS,
}
GENERIC_ERROR = gettext_lazy("It could not be made. Please try again.")


@login_required
@require_http_methods(["GET", "POST"])
def swaps_view(request: SignedInHttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = SwapRequestForm(request.POST)
        if not form.is_valid():
            return _swaps_page(request, form, status=400)
        try:
            job = swap_job_request(
                subject=request.user,
                capture_id=form.cleaned_data["capture"],
                template_id=form.cleaned_data["template"],
            )
        except ApplicationError as refusal:
            return _swaps_page(request, form, error=refusal.detail, status=refusal.status_code)
        messages.success(request, _("Your swap is on its way. This page shows its progress."))
        return redirect(f"{reverse('swap:swaps')}#swap-{job.pk}")  # its progress, in view
    return _swaps_page(request, SwapRequestForm())


def _swaps_page(request: SignedInHttpRequest, form, *, error: str = "", status: int = 200):
    subject = request.user
    jobs = [(job, JOB_ERRORS.get(job.error, GENERIC_ERROR)) for job in swap_jobs_of(subject)]
    running = (SwapJob.Status.PENDING, SwapJob.Status.RUNNING)
    context = {
        "form": form,
        "error": error,
        # Swaps in progress come first, above the form: their progress is in view.
        "active": [(job, reason) for job, reason in jobs if job.status in running],
        "finished": [(job, reason) for job, reason in jobs if job.status not in running],
        "notices": [(notice, notice_text(notice)) for notice in notices_of(subject)],
        "captures": [c for c in captures_of(subject) if (c.liveness or {}).get("passed")],
        "templates": [(t, template_usable_until(t)) for t in templates_usable()],
        "swap_granted": consent_state(subject=subject, purpose=PURPOSE) == GRANTED,
        "storage_granted": consent_state(subject=subject, purpose=STORAGE_PURPOSE) == GRANTED,
        "consent_url": consent_centre_url(PURPOSE, back=reverse("swap:swaps")),
    }
    return render(request, "swap/swaps.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def swap_delete_view(request: SignedInHttpRequest, job_id: str) -> HttpResponse:
    """GET: check before you delete (or cancel) the swap, naming it and its result; POST
    deletes it, or cancels it while it runs."""
    if request.method == "GET":
        try:
            job = swap_job_for(subject=request.user, job_id=job_id)
        except ApplicationError:
            raise Http404 from None
        return render(request, "swap/swap_delete_check.html", {"job": job})
    try:
        cancelled = swap_job_delete(subject=request.user, job_id=job_id)
    except ApplicationError as refusal:
        messages.error(request, refusal.detail)
    else:
        if cancelled is not None:
            messages.success(request, _("The swap is cancelled; it stops in a moment."))
        else:
            messages.success(request, _("The swap and its result are deleted."))
    return redirect("swap:swaps")


@require_http_methods(["GET", "POST"])
def depicted_withdraw_view(request: HttpRequest) -> HttpResponse:
    """What a withdrawal does, then the form; after it, what was done. Every POST counts
    against the network's limit before the secret is looked at."""
    form, blank = DepictedWithdrawalForm(request.POST or None), DepictedWithdrawalForm()
    if request.method == "GET":
        return _withdraw_page(request, blank)
    try:
        # mutant: delete — tests/swap/test_depicted_withdrawal.py
        #   test_attempts_are_limited_per_network_and_the_limit_is_audited
        withdrawal_attempt_check(request)
    except RateLimited as refusal:
        # Refusals show an empty form: the page never echoes a secret back.
        response = _withdraw_page(request, blank, error=refusal.detail, status=refusal.status_code)
        response["Retry-After"] = str(refusal.retry_after)
        return response
    if not form.is_valid():
        return _withdraw_page(request, form, status=400)
    try:
        done = swap_template_withdraw_by_secret(secret=form.cleaned_data["secret"])
    except ApplicationError as refusal:
        return _withdraw_page(request, blank, error=refusal.detail, status=refusal.status_code)
    return render(request, "swap/depicted_withdrawn.html", {"done": done})


def _withdraw_page(request: HttpRequest, form, *, error: str = "", status: int = 200):
    context = {"form": form, "error": error}
    return render(request, "swap/depicted_withdraw.html", context, status=status)


@require_http_methods(["GET", "POST"])
def mark_check_view(request: HttpRequest) -> HttpResponse:
    """Public: was this image or clip made here, and when? Every POST counts against the
    network's limit before the file is read."""
    form = MarkCheckForm(request.POST or None, request.FILES or None)
    if request.method == "GET":
        return _mark_page(request, MarkCheckForm())
    try:
        mark_check_attempt_check(request)
    except RateLimited as refusal:
        response = _mark_page(request, form, error=refusal.detail, status=refusal.status_code)
        response["Retry-After"] = str(refusal.retry_after)
        return response
    if not form.is_valid():
        return _mark_page(request, form, status=400)
    try:
        answer = swap_mark_check(data=form.cleaned_data["file"].read())
    except ApplicationError as refusal:
        return _mark_page(request, form, error=refusal.detail, status=refusal.status_code)
    return _mark_page(request, MarkCheckForm(), answer=answer)


def _mark_page(request: HttpRequest, form, *, error: str = "", status: int = 200, answer=None):
    context = {"form": form, "error": error, "answer": answer}
    return render(request, "swap/mark_check.html", context, status=status)
