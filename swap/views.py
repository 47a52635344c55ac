"""The portal's swap page: thin views over the services and selectors.

``/swaps/`` lists the subject's swaps (and the notices of results erased because the person in
their template withdrew) and asks for new ones; ``static/swap/swaps.js`` polls the
API for the progress of running ones (no inline script). Results are shown and downloaded
through the API's result endpoint, with the portal session.

``/swaps/once/`` swaps without enrolling (``ephemeral_swap``): the camera page of the capture
(``templates/biometrics/_camera.html``) with a choice of picture templates; the camera posts to
the API, the plain form below it posts here. ``/swaps/<id>/share/`` makes a share link (its
address is shown once, with a copy button: ``static/swap/share.js``), ``/swaps/links/<id>/revoke/``
revokes one, and ``/s/<token>/`` is the public viewer (no account, ``noindex``, no referrer,
nothing from another site).

``/depicted/withdraw/`` is public (no account): a depicted person types the withdrawal secret
printed on their consent record and withdraws their consent to face editing.
"""

from __future__ import annotations

import io
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.closing import ServiceClosing, check_service_open
from biometrics.selectors import captures_of, challenge_page_context
from biometrics.uploads import use_capture_upload_handlers
from compliance_site.errors import ApplicationError, RateLimited
from consent.identity.http import SignedInHttpRequest
from consent.ledger.gate import GRANTED, ConsentRequired, consent_state, require_consent
from consent.ledger.selectors import consent_centre_url
from swap.apis import share_url, shared_headers
from swap.forms import (
    DepictedWithdrawalForm,
    EphemeralSwapForm,
    MarkCheckForm,
    ShareLinkForm,
    SwapRequestForm,
)
from swap.models import SwapJob, TemplateKind
from swap.selectors import (
    EPHEMERAL_PURPOSE,
    PURPOSE,
    STORAGE_PURPOSE,
    TEMPLATE_REFUSALS,
    notice_text,
    notices_of,
    share_links_of,
    sharing_allowed,
    swap_job_for,
    swap_jobs_of,
    template_usable_until,
    templates_usable,
)
from swap.services import (
    share_file_ticket,
    share_link_create,
    share_link_file,
    share_link_open,
    share_link_revoke,
    swap_ephemeral_challenge,
    swap_ephemeral_make,
    swap_job_delete,
    swap_job_request,
    swap_mark_check,
    swap_template_withdraw_by_secret,
)
from swap.throttles import (
    mark_check_attempt_check,
    share_view_attempt_check,
    withdrawal_attempt_check,
)

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


def _swaps_page(
    request: SignedInHttpRequest,
    form,
    *,
    error: str = "",
    status: int = 200,
    new_link: tuple[str, str] | None = None,
):
    """The swaps page; ``new_link``: (job id, address) of a link just made, shown once."""
    subject = request.user
    links: dict[str, list] = {}
    for link in share_links_of(subject):
        links.setdefault(str(link.job_id), []).append(link)
    jobs = [
        (job, JOB_ERRORS.get(job.error, GENERIC_ERROR), links.get(str(job.pk), []))
        for job in swap_jobs_of(subject)
    ]
    running = (SwapJob.Status.PENDING, SwapJob.Status.RUNNING)
    context = {
        "form": form,
        "error": error,
        "new_link": new_link,
        "share_form": ShareLinkForm(),
        # Results whose template's depicted person allows sharing by link: the others get no
        # form, and a line saying why.
        "shareable": {job.pk for job, _reason, _links in jobs if sharing_allowed(job.template)},
        "ephemeral_granted": consent_state(subject=subject, purpose=EPHEMERAL_PURPOSE) == GRANTED,
        # Swaps in progress come first, above the form: their progress is in view.
        "active": [row for row in jobs if row[0].status in running],
        "finished": [row for row in jobs if row[0].status not in running],
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


# --- swaps without enrolment --------------------------------------------------------------------


@csrf_exempt  # checked in _ephemeral_view, after the gate, once uploads are set to stay in memory
@login_required
@require_http_methods(["GET", "POST"])
def ephemeral_view(request: SignedInHttpRequest) -> HttpResponse:
    try:
        check_service_open()
    except ServiceClosing as closing:  # the swaps page stays: results can still be downloaded
        messages.error(request, closing.detail)
        return redirect("swap:swaps")
    try:
        if request.method == "POST":
            # The gate before a byte of the body is read (the CSRF check reads it).
            # mutant: delete — tests/swap/test_ephemeral_portal.py
            #   test_the_portal_form_without_consent_is_refused_before_a_byte_is_read
            require_consent(subject=request.user, purpose=EPHEMERAL_PURPOSE)
            use_capture_upload_handlers(request)
        return _ephemeral_view(request)
    except ConsentRequired:
        return _ephemeral_consent_page(request)
    except ApplicationError as refusal:  # too large, unexpected file: found while parsing
        return _ephemeral_page(request, EphemeralSwapForm(), error=refusal.detail, status=413)


@csrf_protect
def _ephemeral_view(request: SignedInHttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _ephemeral_page(request, EphemeralSwapForm())
    form = EphemeralSwapForm(request.POST, request.FILES)
    if not form.is_valid():
        return _ephemeral_page(request, form, status=400)
    try:
        job = swap_ephemeral_make(
            subject=request.user,
            challenge_id=form.cleaned_data["challenge"],
            template_id=form.cleaned_data["template"],
            photo=_read(form.cleaned_data["photo"]),
            video=_read(form.cleaned_data["video"]),
        )
    except ApplicationError as refusal:
        return _ephemeral_page(
            request, EphemeralSwapForm(), error=refusal.detail, status=refusal.status_code
        )
    messages.success(
        request, _("Your swap is made. Your photo and video were checked and thrown away.")
    )
    return redirect(reverse("swap:swaps") + f"#swap-{job.pk}")


def _read(upload) -> bytes:
    try:
        return upload.read()
    finally:
        upload.close()


def _ephemeral_page(
    request: SignedInHttpRequest, form: EphemeralSwapForm, *, error: str = "", status: int = 200
) -> HttpResponse:
    """The page with a fresh challenge (issuing one voids the previous one)."""
    try:
        challenge = swap_ephemeral_challenge(subject=request.user)
    except ConsentRequired:
        return _ephemeral_consent_page(request)
    form.initial["challenge"] = str(challenge.pk)
    if form.is_bound:  # keep the errors, with the new challenge
        data = cast(QueryDict, form.data).copy()  # bound to request.POST
        data["challenge"] = str(challenge.pk)
        form.data = data
    pictures = [t for t in templates_usable() if t.kind == TemplateKind.IMAGE]
    context = {
        "form": form,
        "error": error,
        "templates": [(t, template_usable_until(t)) for t in pictures],
        "storage_granted": consent_state(subject=request.user, purpose=STORAGE_PURPOSE) == GRANTED,
        "challenge_url": reverse("api-ephemeral-challenge"),
        "capture_url": reverse("api-ephemeral-swaps"),
        "done_url": reverse("swap:swaps"),
        **challenge_page_context(challenge),
    }
    return render(request, "swap/ephemeral.html", context, status=status)


def _ephemeral_consent_page(request: HttpRequest) -> HttpResponse:
    return render(request, "swap/ephemeral.html", {"consent_missing": True}, status=403)


# --- share links --------------------------------------------------------------------------------


@login_required
@require_POST
def share_create_view(request: SignedInHttpRequest, job_id: str) -> HttpResponse:
    form = ShareLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how long the link lasts and, if you like, a view limit."))
        return redirect("swap:swaps")
    try:
        _link, token = share_link_create(
            subject=request.user,
            job_id=job_id,
            hours=int(form.cleaned_data["hours"]),
            max_views=form.cleaned_data["max_views"],
        )
    except ApplicationError as refusal:
        messages.error(request, refusal.detail)
        return redirect("swap:swaps")
    # Shown once, on this answer only: the address is never stored (only its digest).
    response = _swaps_page(request, SwapRequestForm(), new_link=(job_id, share_url(request, token)))
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def share_revoke_view(request: SignedInHttpRequest, link_id: str) -> HttpResponse:
    try:
        share_link_revoke(subject=request.user, link_id=link_id)
    except ApplicationError as refusal:
        messages.error(request, refusal.detail)
    else:
        messages.success(request, _("The link is revoked: it no longer shows anything."))
    return redirect("swap:swaps")


@require_GET
def shared_view(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the result a share link shows, labelled, with its provenance and a download of
    the labelled file. Every view counts against the network's limit before the token is
    read, and against the link's own view limit; audited without the viewer's address."""
    try:
        share_view_attempt_check(request)
        shared = share_link_open(token=token)
    except ApplicationError as refusal:
        return _shared_refusal(request, refusal)
    file_url = (
        reverse("swap:shared_file", args=[token])
        + "?"
        + urlencode({"ticket": share_file_ticket(shared.link)})
    )
    context = {"job": shared.link.job, "link": shared.link, "file_url": file_url}
    return shared_headers(render(request, "swap/shared.html", context))


def _shared_refusal(request: HttpRequest, refusal: ApplicationError) -> HttpResponse:
    response = render(
        request, "swap/shared.html", {"error": refusal.detail}, status=refusal.status_code
    )
    if isinstance(refusal, RateLimited):
        response["Retry-After"] = str(refusal.retry_after)
    return shared_headers(response)


@require_GET
def shared_file_view(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the file of a view just counted (the page's picture or player, and its download
    with ``download=1``), with the page's ticket; counts no view (see ``share_link_file``)."""
    try:
        share_view_attempt_check(request)  # the network's rate, as for the page
        shared = share_link_file(token=token, ticket=request.GET.get("ticket", ""))
    except ApplicationError as refusal:
        return _shared_refusal(request, refusal)
    response = FileResponse(
        io.BytesIO(shared.content),
        content_type=shared.media_type,
        as_attachment=request.GET.get("download") == "1",
        filename=shared.filename,
    )
    return shared_headers(response)
