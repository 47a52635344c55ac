"""Portal pages of the user-data report and the export."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from compliance_site.errors import ApplicationError
from compliance_site.http import attachment
from consent.identity.http import SignedInHttpRequest
from consent.ledger.selectors import page_language
from consent.reports.services import (
    export_json,
    export_zip,
    report_job_download,
    report_job_status,
    report_request,
)

# --- your data: the report and the export -------------------------------------------------------


@login_required
@require_GET
def report_view(request: SignedInHttpRequest) -> HttpResponse:
    """The report at once, or (a long history) a job whose page shows its progress."""
    outcome = report_request(subject=request.user, language=page_language(request))
    if outcome.pdf is not None:
        return attachment(outcome.pdf, "application/pdf", "faceledger-report.pdf")
    assert outcome.job is not None  # no PDF means a job
    return redirect("consent:report_status", job_id=outcome.job.pk)


@login_required
@require_GET
def report_status_view(request: SignedInHttpRequest, job_id) -> HttpResponse:
    try:
        job = report_job_status(subject=request.user, job_id=job_id)
    except ApplicationError:
        raise Http404(_("There is no such report.")) from None
    return render(request, "consent/report_status.html", {"job": job})


@login_required
@require_GET
def report_download_view(request: SignedInHttpRequest, job_id) -> HttpResponse:
    try:
        pdf = report_job_download(subject=request.user, job_id=job_id)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return redirect("consent:report_status", job_id=job_id)
    return attachment(pdf, "application/pdf", f"faceledger-report-{job_id}.pdf")


@login_required
@require_GET
def export_json_view(request: SignedInHttpRequest) -> HttpResponse:
    body = export_json(subject=request.user, language=page_language(request))
    return attachment(body, "application/json; charset=utf-8", "faceledger-export.json")


@login_required
@require_GET
def export_zip_view(request: SignedInHttpRequest) -> HttpResponse:
    body = export_zip(subject=request.user, language=page_language(request))
    return attachment(body, "application/zip", "faceledger-export.zip")
