"""Sign-in and consent API: thin views that parse input, call one service, and answer."""

from __future__ import annotations

import json

from django.core.validators import RegexValidator
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance_site.api import AnyAcceptNegotiation
from compliance_site.http import attachment
from compliance_site.openapi import errors
from consent.erasure import erasure_certificate, erasure_for_token, erasure_request
from consent.models import ApiToken, ConsentRecord, ReportJob
from consent.receipts import receipt_pdf
from consent.reports import (
    erasure_certificate_pdf,
    export_json,
    export_schema,
    export_zip,
    report_job_download,
    report_job_status,
    report_request,
)
from consent.selectors import (
    client_evidence_for,
    client_ip_for,
    consent_record_for_receipt,
    consent_states_for,
    minor_declared_on,
    policies_current,
    policy_text_for,
    requested_language,
)
from consent.services import (
    CODE_LENGTH,
    PHONE_MAX_LENGTH,
    consent_grant,
    consent_guardian_grant,
    consent_withdraw,
    guardian_code_request,
    minor_declaration_create,
    otp_request,
    session_logout,
    token_login,
    token_logout,
)


class StrictCharField(serializers.CharField):
    """Text only: a number, boolean or list is refused instead of being turned into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


_DETAIL = inline_serializer("Accepted", {"detail": serializers.CharField()})


class OtpRequestApi(APIView):
    # Callers have no session and no token yet: no authentication, so no CSRF check either.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        phone = StrictCharField(max_length=PHONE_MAX_LENGTH)

    @extend_schema(
        operation_id="auth_otp_request",
        tags=["sign-in"],
        summary="Text a 6-digit sign-in code to a mobile number",
        description="The same answer whether or not the number has an account.",
        request=InputSerializer,
        responses={
            202: _DETAIL,
            **errors(
                {
                    400: ["invalid", "malformed_request", "invalid_phone"],
                    429: ["rate_limited"],
                    503: ["sms_unavailable"],
                },
                signed_in=False,
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        otp_request(phone=serializer.validated_data["phone"], client_ip=client_ip_for(request))
        # The same bytes for every number, known or not.
        detail = _("If this number can receive text messages, a code is on its way.")
        return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)


class OtpVerifyApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        phone = StrictCharField(max_length=PHONE_MAX_LENGTH)
        code = StrictCharField(min_length=CODE_LENGTH, max_length=CODE_LENGTH, trim_whitespace=True)

        def validate_code(self, value: str) -> str:
            if not (value.isascii() and value.isdigit()):
                raise serializers.ValidationError(_("The code is 6 digits."))
            return value

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(
        operation_id="auth_otp_verify",
        tags=["sign-in"],
        summary="Check the code; get an API token (the account is made at first sign-in)",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            **errors(
                {
                    400: [
                        "invalid",
                        "malformed_request",
                        "invalid_phone",
                        "invalid_code",
                        "locked_out",
                    ],
                    403: ["account_disabled"],
                    429: ["rate_limited"],
                },
                signed_in=False,
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = token_login(**serializer.validated_data)
        return Response(self.OutputSerializer({"token": key}).data, status=status.HTTP_200_OK)


class LogoutApi(APIView):
    @extend_schema(
        operation_id="auth_logout",
        tags=["sign-in"],
        summary="Revoke this API token (or end the portal session)",
        request=None,
        responses={204: OpenApiResponse(description="Signed out."), **errors({})},
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, ApiToken):
            token_logout(token=request.auth)
        else:
            session_logout(request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- the consent ledger -------------------------------------------------------------------------


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: "1", 1.0 and true are refused instead of being converted."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class _PolicyQuoteSerializer(serializers.Serializer):
    """Which text the client showed: purpose, version and the SHA-256 of that text."""

    purpose = StrictCharField(max_length=64)
    version = StrictIntegerField(min_value=1, max_value=2**31 - 1)
    sha256 = StrictCharField(min_length=64, max_length=64)

    def validate_sha256(self, value: str) -> str:
        if any(c not in "0123456789abcdef" for c in value):
            raise serializers.ValidationError(_("Lower-case hexadecimal SHA-256 expected."))
        return value


class _ReceiptDoc(serializers.Serializer):
    """Documentation only: the main fields of a signed consent receipt (Kantara v1.1 names)."""

    consentReceiptID = serializers.UUIDField()  # noqa: N815 - Kantara's field names
    consentTimestamp = serializers.IntegerField(help_text="Unix time")  # noqa: N815
    collectionMethod = serializers.CharField()  # noqa: N815
    piiPrincipalId = serializers.CharField(help_text="The subject's pseudonym")  # noqa: N815
    piiControllers = serializers.ListField(child=serializers.DictField())  # noqa: N815
    policyUrl = serializers.URLField()  # noqa: N815
    services = serializers.ListField(child=serializers.DictField())
    sensitive = serializers.BooleanField()
    spiCat = serializers.ListField(child=serializers.CharField())  # noqa: N815
    action = serializers.ChoiceField(choices=["grant", "withdraw"])
    purposeCode = serializers.CharField()  # noqa: N815
    policyVersion = serializers.IntegerField()  # noqa: N815
    policySha256 = serializers.CharField()  # noqa: N815
    language = serializers.CharField()
    signature = serializers.CharField(
        help_text="Ed25519 over the RFC 8785 JSON of the receipt without `signature`, base64"
    )


_RECEIPT = inline_serializer("ReceiptEnvelope", {"receipt": _ReceiptDoc()})


def _receipt_response(record: ConsentRecord, status_code: int) -> Response:
    return Response({"receipt": json.loads(record.receipt)}, status=status_code)


class PurposeListApi(APIView):
    """Every purpose's current text in the asked language (``?lang=`` or Accept-Language).
    Public: an app shows it before anyone signs in."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField(source="purpose.code")
        title = serializers.CharField()
        version = serializers.IntegerField()
        language = serializers.CharField()
        text = serializers.CharField()
        sha256 = serializers.CharField()
        retention = serializers.CharField()
        works_with = serializers.SerializerMethodField()

        def get_works_with(self, view) -> str | None:
            return view.purpose.works_with.code if view.purpose.works_with_id else None

    @extend_schema(
        operation_id="purposes_list",
        tags=["consent"],
        summary="Each purpose's current policy text, in the asked language",
        parameters=[
            OpenApiParameter(
                "lang", str, enum=["en", "zh-hans"], description="Else Accept-Language."
            )
        ],
        responses={
            200: OutputSerializer(many=True),
            **errors({400: ["invalid_language"]}, signed_in=False),
        },
    )
    def get(self, request: Request) -> Response:
        policies = policies_current(requested_language(request))
        return Response(self.OutputSerializer(policies, many=True).data)


class ConsentListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        purpose = serializers.CharField(source="purpose.code")
        state = serializers.CharField()
        version = serializers.IntegerField(allow_null=True)
        updated_at = serializers.DateTimeField(allow_null=True)
        by_guardian = serializers.BooleanField(source="guardian")

    @extend_schema(
        operation_id="consents_list",
        tags=["consent"],
        summary="My consent state for each purpose",
        responses={200: OutputSerializer(many=True), **errors({})},
    )
    def get(self, request: Request) -> Response:
        states = consent_states_for(request.user)
        return Response(self.OutputSerializer(states, many=True).data)

    @extend_schema(
        operation_id="consents_grant",
        tags=["consent"],
        summary="Consent to a purpose, quoting the version and SHA-256 of the text shown",
        request=_PolicyQuoteSerializer,
        responses={
            201: _RECEIPT,
            **errors(
                {
                    400: ["invalid", "malformed_request", "policy_mismatch"],
                    403: ["guardian_required"],
                    404: ["unknown_purpose"],
                    409: ["already_granted", "erasure_in_progress"],
                }
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = _PolicyQuoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        evidence = client_evidence_for(request, method=ConsentRecord.Method.API)
        record = consent_grant(subject=request.user, evidence=evidence, **serializer.validated_data)
        return _receipt_response(record, status.HTTP_201_CREATED)


class ConsentWithdrawApi(APIView):
    @extend_schema(
        operation_id="consents_withdraw",
        tags=["consent"],
        summary="Withdraw a consent: at once, erasing the data collected under it",
        responses={
            200: _RECEIPT,
            **errors({404: ["unknown_purpose"], 409: ["not_granted", "erasure_in_progress"]}),
        },
    )
    def delete(self, request: Request, purpose: str) -> Response:
        evidence = client_evidence_for(request, method=ConsentRecord.Method.API)
        record = consent_withdraw(subject=request.user, purpose=purpose, evidence=evidence)
        return _receipt_response(record, status.HTTP_200_OK)


class ReceiptApi(APIView):
    """The signed receipt exactly as issued; only its subject may read it (others: 404)."""

    @extend_schema(
        operation_id="consents_receipt",
        tags=["consent"],
        summary="A signed consent receipt, byte for byte as issued",
        responses={200: _ReceiptDoc, **errors({404: ["receipt_not_found"]})},
    )
    def get(self, request: Request, receipt_id) -> HttpResponse:
        record = consent_record_for_receipt(request.user, receipt_id)
        return HttpResponse(record.receipt, content_type="application/json; charset=utf-8")


class ReceiptPdfApi(APIView):
    @extend_schema(
        operation_id="consents_receipt_pdf",
        tags=["consent"],
        summary="A consent receipt as PDF, with the policy text",
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            **errors({404: ["receipt_not_found"]}),
        },
    )
    def get(self, request: Request, receipt_id) -> HttpResponse:
        record = consent_record_for_receipt(request.user, receipt_id)
        pdf = receipt_pdf(json.loads(record.receipt), policy_text_for(record).text)
        return attachment(pdf, "application/pdf", f"receipt-{receipt_id}.pdf")


class MinorDeclarationApi(APIView):
    """The subject declares an age under 14; from then on a guardian consents for them."""

    @extend_schema(
        operation_id="consents_minor_declaration",
        tags=["consent"],
        summary="Declare an age under 14: consents given alone are withdrawn",
        request=None,
        responses={
            201: inline_serializer(
                "MinorDeclared", {"under_14_declared_on": serializers.DateField()}
            ),
            **errors({409: ["already_declared", "erasure_in_progress"]}),
        },
    )
    def post(self, request: Request) -> Response:
        evidence = client_evidence_for(request, method=ConsentRecord.Method.API)
        minor_declaration_create(subject=request.user, evidence=evidence)
        declared = minor_declared_on(request.user)
        return Response({"under_14_declared_on": declared}, status=status.HTTP_201_CREATED)


class GuardianRequestApi(APIView):
    class InputSerializer(serializers.Serializer):
        phone = StrictCharField(max_length=PHONE_MAX_LENGTH)
        purpose = StrictCharField(
            max_length=64, help_text="The purpose the code grants (for this child only)."
        )

    @extend_schema(
        operation_id="consents_guardian_request",
        tags=["consent"],
        summary="Text a code to a parent or guardian, who then consents for a child under 14",
        request=InputSerializer,
        responses={
            202: _DETAIL,
            **errors(
                {
                    400: ["invalid", "malformed_request", "invalid_phone"],
                    404: ["unknown_purpose"],
                    409: ["guardian_not_needed", "guardian_is_subject"],
                    429: ["rate_limited"],
                    503: ["sms_unavailable"],
                }
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        guardian_code_request(
            subject=request.user, client_ip=client_ip_for(request), **serializer.validated_data
        )
        detail = _("If this number can receive text messages, a code is on its way.")
        return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)


class GuardianGrantApi(APIView):
    class InputSerializer(_PolicyQuoteSerializer):
        phone = StrictCharField(max_length=PHONE_MAX_LENGTH)
        code = StrictCharField(
            min_length=CODE_LENGTH,
            max_length=CODE_LENGTH,
            validators=[RegexValidator(r"^[0-9]{6}\Z", _("The code is 6 digits."))],
        )

    @extend_schema(
        operation_id="consents_guardian_grant",
        tags=["consent"],
        summary="A parent or guardian consents for a child, with the code sent to them",
        request=InputSerializer,
        responses={
            201: _RECEIPT,
            **errors(
                {
                    400: [
                        "invalid",
                        "malformed_request",
                        "invalid_phone",
                        "invalid_code",
                        "locked_out",
                    ],
                    403: ["guardian_is_minor"],
                    404: ["unknown_purpose"],
                    409: ["guardian_not_needed", "already_granted"],
                    429: ["rate_limited"],
                }
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        evidence = client_evidence_for(request, method=ConsentRecord.Method.API)
        record = consent_guardian_grant(
            subject=request.user, evidence=evidence, **serializer.validated_data
        )
        return _receipt_response(record, status.HTTP_201_CREATED)


# --- erasure ------------------------------------------------------------------------------------


class ErasureApi(APIView):
    """Erase my account. Answers 202 with the status token (shown only here); with eager
    tasks (tests) the erasure is complete by then."""

    @extend_schema(
        operation_id="me_erasure_request",
        tags=["erasure"],
        summary="Erase my account; answers with the status token (shown only here)",
        request=None,
        responses={
            202: inline_serializer(
                "ErasureAccepted",
                {"id": serializers.CharField(), "status": serializers.CharField()},
            ),
            **errors({409: ["erasure_in_progress"]}),
        },
    )
    def post(self, request: Request) -> Response:
        erasure, token = erasure_request(subject=request.user)
        erasure.refresh_from_db(fields=["status"])
        return Response({"id": token, "status": erasure.status}, status=status.HTTP_202_ACCEPTED)


class ErasureStatusApi(APIView):
    """The status and, once done, the signed certificate. The token is the only credential:
    it keeps working after the account, its sessions and its API tokens are gone."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="me_erasure_status",
        tags=["erasure"],
        summary="An erasure's status and, once done, its signed certificate",
        responses={
            200: inline_serializer(
                "ErasureStatus",
                {
                    "status": serializers.ChoiceField(choices=["pending", "running", "done"]),
                    "certificate": serializers.JSONField(
                        allow_null=True,
                        help_text=(
                            "Signed JSON; null until done. backups_unreadable_after: the "
                            "time after which no database backup can decrypt the data"
                        ),
                    ),
                },
            ),
            **errors({404: ["erasure_not_found"]}, signed_in=False),
        },
    )
    def get(self, request: Request, token: str) -> Response:
        erasure = erasure_for_token(token)
        return Response({"status": erasure.status, "certificate": erasure_certificate(erasure)})


# --- the user-data report and the portable export -----------------------------------------------


_LANG = OpenApiParameter(
    "lang", str, enum=["en", "zh-hans"], description="Language of the report; else Accept-Language."
)


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
        parameters=[_LANG],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            202: ReportJobOutputSerializer,
            **errors({400: ["invalid_language"]}),
        },
    )
    def get(self, request: Request) -> HttpResponse:
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
    def get(self, request: Request, job_id) -> Response:
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
    def get(self, request: Request, job_id) -> HttpResponse:
        pdf = report_job_download(subject=request.user, job_id=job_id)
        return attachment(pdf, "application/pdf", f"faceledger-report-{job_id}.pdf")


class ExportJsonApi(APIView):
    """My data, machine-readable (GDPR Art. 20), as described by ``export.schema.json``."""

    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="me_export_json",
        tags=["my data"],
        summary="All my data as JSON (see /api/v1/me/export.schema.json)",
        parameters=[_LANG],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            **errors({400: ["invalid_language"]}),
        },
    )
    def get(self, request: Request) -> HttpResponse:
        body = export_json(subject=request.user, language=requested_language(request))
        return attachment(body, "application/json; charset=utf-8", "faceledger-export.json")


class ExportZipApi(APIView):
    """The JSON export plus my photos and results, decrypted."""

    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="me_export_zip",
        tags=["my data"],
        summary="The JSON export plus my photos and results (ZIP)",
        parameters=[_LANG],
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            **errors({400: ["invalid_language"]}),
        },
    )
    def get(self, request: Request) -> HttpResponse:
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


class ErasureCertificatePdfApi(APIView):
    """The erasure certificate as a PDF; the same token rule as the status endpoint."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="me_erasure_certificate_pdf",
        tags=["erasure"],
        summary="The signed erasure certificate as a printable PDF",
        parameters=[_LANG],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            **errors(
                {
                    400: ["invalid_language"],
                    404: ["erasure_not_found"],
                    409: ["erasure_not_done"],
                },
                signed_in=False,
            ),
        },
    )
    def get(self, request: Request, token: str) -> HttpResponse:
        erasure = erasure_for_token(token)
        pdf = erasure_certificate_pdf(erasure=erasure, language=requested_language(request))
        return attachment(pdf, "application/pdf", f"erasure-{erasure.pk}.pdf")
