"""API of the user-data report and the portable export."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance_site.api import AnyAcceptNegotiation
from compliance_site.http import attachment
from compliance_site.openapi import LANGUAGE_PARAMETER, errors
from consent.identity.http import SignedInRequest
from consent.ledger.selectors import (
    requested_language,
)
from consent.reports.models import ReportJob
from consent.reports.services import (
    export_json,
    export_schema,
    export_zip,
    report_job_download,
    report_job_status,
    report_request,
)

# --- the user-data report and the portable export -----------------------------------------------


class ReportJobOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=ReportJob.Status.values)
    progress = serializers.IntegerField(help_text="0–100")
    requested_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(help_text="The stored PDF is erased then.")
    error = serializers.CharField(help_text="Why it failed; empty otherwise.")
    status_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    def get_status_url(self, job) -> str:
        return reverse("api-report-job", args=[job.pk])

    def get_download_url(self, job) -> str | None:
        done = job.status == ReportJob.Status.DONE
        return reverse("api-report-download", args=[job.pk]) if done else None


class ReportApi(APIView):
    """My data report (GDPR Art. 15): the PDF at once when my history is short; otherwise
    202 with a job (``Location``: its status) that a worker makes, to download when done."""

    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="me_report",
        tags=["my data"],
        summary="My data report (PDF); long histories: 202 and a job to poll",
        parameters=[LANGUAGE_PARAMETER],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            202: ReportJobOutputSerializer,
            **errors({400: ["invalid_language"]}),
        },
    )
    def get(self, request: SignedInRequest) -> HttpResponse:
        outcome = report_request(subject=request.user, language=requested_language(request))
        if outcome.pdf is not None:
            return attachment(outcome.pdf, "application/pdf", "faceledger-report.pdf")
        data = ReportJobOutputSerializer(outcome.job).data
        response = Response(data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = data["status_url"]
        return response


class ReportJobApi(APIView):
    @extend_schema(
        operation_id="me_report_job",
        tags=["my data"],
        summary="A report job's status and progress",
        responses={200: ReportJobOutputSerializer, **errors({404: ["report_not_found"]})},
    )
    def get(self, request: SignedInRequest, job_id) -> Response:
        job = report_job_status(subject=request.user, job_id=job_id)
        return Response(ReportJobOutputSerializer(job).data)


class ReportDownloadApi(APIView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="me_report_download",
        tags=["my data"],
        summary="The report a job made (PDF), decrypted",
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            **errors({404: ["report_not_found", "report_expired"], 409: ["report_not_ready"]}),
        },
    )
    def get(self, request: SignedInRequest, job_id) -> HttpResponse:
        pdf = report_job_download(subject=request.user, job_id=job_id)
        return attachment(pdf, "application/pdf", f"faceledger-report-{job_id}.pdf")


class ExportJsonApi(APIView):
    """My data, machine-readable (GDPR Art. 20), as described by ``export.schema.json``."""

    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="me_export_json",
        tags=["my data"],
        summary="All my data as JSON (see /api/v1/me/export.schema.json)",
        parameters=[LANGUAGE_PARAMETER],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            **errors({400: ["invalid_language"]}),
        },
    )
    def get(self, request: SignedInRequest) -> HttpResponse:
        body = export_json(subject=request.user, language=requested_language(request))
        return attachment(body, "application/json; charset=utf-8", "faceledger-export.json")


class ExportZipApi(APIView):
    """The JSON export plus my photos and results, decrypted."""

    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="me_export_zip",
        tags=["my data"],
        summary="The JSON export plus my photos and results (ZIP)",
        parameters=[LANGUAGE_PARAMETER],
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            **errors({400: ["invalid_language"]}),
        },
    )
    def get(self, request: SignedInRequest) -> HttpResponse:
        body = export_zip(subject=request.user, language=requested_language(request))
        return attachment(body, "application/zip", "faceledger-export.zip")


class ExportSchemaApi(APIView):
    """The JSON Schema of the export: public documentation."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="me_export_schema",
        tags=["my data"],
        summary="The JSON Schema of the export",
        responses={(200, "application/schema+json"): OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(export_schema(), content_type="application/schema+json")
