"""The portal's swap page: thin views over the services and selectors.

``/swaps/`` lists the subject's swaps and asks for new ones; ``static/swap/swaps.js`` polls the
API for the progress of running ones (no inline script). Results are shown and downloaded
through the API's result endpoint, with the portal session.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from biometrics.selectors import captures_of
from compliance_site.errors import ApplicationError
from consent.identity.http import SignedInHttpRequest
from consent.ledger.gate import GRANTED, consent_state
from swap.forms import SwapRequestForm
from swap.selectors import (
    PURPOSE,
    STORAGE_PURPOSE,
    TEMPLATE_REFUSALS,
    swap_jobs_of,
    template_usable_until,
    templates_usable,
)
from swap.services import swap_job_delete, swap_job_request

# People read these; jobs store stable codes.
JOB_ERRORS = {
    "no_target_face": gettext_lazy("No face was found in the template."),
    "no_source_face": gettext_lazy("No face was found in your capture."),
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
            swap_job_request(
                subject=request.user,
                capture_id=form.cleaned_data["capture"],
                template_id=form.cleaned_data["template"],
            )
        except ApplicationError as refusal:
            return _swaps_page(request, form, error=refusal.detail, status=refusal.status_code)
        messages.success(request, _("Your swap is on its way. This page shows its progress."))
        return redirect("swap:swaps")
    return _swaps_page(request, SwapRequestForm())


def _swaps_page(request: SignedInHttpRequest, form, *, error: str = "", status: int = 200):
    subject = request.user
    jobs = [(job, JOB_ERRORS.get(job.error, GENERIC_ERROR)) for job in swap_jobs_of(subject)]
    context = {
        "form": form,
        "error": error,
        "jobs": jobs,
        "captures": [c for c in captures_of(subject) if (c.liveness or {}).get("passed")],
        "templates": [(t, template_usable_until(t)) for t in templates_usable()],
        "swap_granted": consent_state(subject=subject, purpose=PURPOSE) == GRANTED,
        "storage_granted": consent_state(subject=subject, purpose=STORAGE_PURPOSE) == GRANTED,
    }
    return render(request, "swap/swaps.html", context, status=status)


@login_required
@require_POST
def swap_delete_view(request: SignedInHttpRequest, job_id: str) -> HttpResponse:
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
