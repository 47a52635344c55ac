"""API of the consent ledger."""

from __future__ import annotations

import json

from django.core.validators import RegexValidator
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance_site.api import StrictCharField, StrictIntegerField
from compliance_site.client_address import client_ip_for
from compliance_site.http import attachment
from compliance_site.openapi import ACCEPTED, errors
from consent.identity.apis import REGION_HELP
from consent.identity.http import SignedInRequest
from consent.identity.services import (
    CODE_LENGTH,
    PHONE_MAX_LENGTH,
)
from consent.ledger.models import ConsentRecord, GuardianRelationship
from consent.ledger.receipts import receipt_pdf
from consent.ledger.selectors import (
    age_stated,
    client_evidence_for,
    consent_record_27560_for,
    consent_record_for_receipt,
    consent_states_for,
    minor_declared_on,
    policies_current,
    policy_text_for,
    requested_language,
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

# --- the consent ledger -------------------------------------------------------------------------


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
    def get(self, request: SignedInRequest) -> Response:
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
                    403: ["guardian_required", "age_required"],
                    404: ["unknown_purpose"],
                    409: ["already_granted", "erasure_in_progress"],
                }
            ),
        },
    )
    def post(self, request: SignedInRequest) -> Response:
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
    def delete(self, request: SignedInRequest, purpose: str) -> Response:
        evidence = client_evidence_for(request, method=ConsentRecord.Method.API)
        record = consent_withdraw(subject=request.user, purpose=purpose, evidence=evidence)
        return _receipt_response(record, status.HTTP_200_OK)


class _PreviewLineSerializer(serializers.Serializer):
    store = serializers.CharField()
    count = serializers.IntegerField()
    items = serializers.CharField(help_text="The count in plain words: “2 face captures”.")
    what = serializers.CharField()
    retention = serializers.CharField(help_text="How long it is kept: why what remains remains.")


class ConsentWithdrawalPreviewApi(APIView):
    """What withdrawing a consent now would erase, store by store, and what would remain: the
    counts the withdrawal then erases and records. Read-only; ask before ``DELETE``."""

    class OutputSerializer(serializers.Serializer):
        purpose = serializers.CharField(source="purpose.code")
        summary = serializers.CharField()
        erases = _PreviewLineSerializer(many=True)
        remains = _PreviewLineSerializer(many=True)

    @extend_schema(
        operation_id="consents_withdrawal_preview",
        tags=["consent"],
        summary="Before withdrawing: exactly what the withdrawal will erase and what remains",
        parameters=[
            OpenApiParameter(
                "lang", str, enum=["en", "zh-hans"], description="Else Accept-Language."
            )
        ],
        responses={
            200: OutputSerializer,
            **errors({400: ["invalid_language"], 404: ["unknown_purpose"], 409: ["not_granted"]}),
        },
    )
    def get(self, request: SignedInRequest, purpose: str) -> Response:
        with translation.override(requested_language(request)):
            preview = withdrawal_preview_for(request.user, purpose)
            return Response(self.OutputSerializer(preview).data)


class ReceiptApi(APIView):
    """The signed receipt exactly as issued; only its subject may read it (others: 404)."""

    @extend_schema(
        operation_id="consents_receipt",
        tags=["consent"],
        summary="A signed consent receipt, byte for byte as issued",
        responses={200: _ReceiptDoc, **errors({404: ["receipt_not_found"]})},
    )
    def get(self, request: SignedInRequest, receipt_id) -> HttpResponse:
        record = consent_record_for_receipt(request.user, receipt_id)
        return HttpResponse(record.receipt, content_type="application/json; charset=utf-8")


class Record27560Api(APIView):
    """The same grant or withdrawal as an ISO/IEC TS 27560 consent record with W3C DPV terms,
    signed like the receipt, exactly as issued; only its subject may read it (others: 404)."""

    @extend_schema(
        operation_id="consents_record_27560",
        tags=["consent"],
        summary="A signed ISO/IEC TS 27560 consent record, byte for byte as issued",
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            **errors({404: ["receipt_not_found"]}),
        },
    )
    def get(self, request: SignedInRequest, receipt_id) -> HttpResponse:
        record = consent_record_27560_for(request.user, receipt_id)
        return HttpResponse(record.record_27560, content_type="application/json; charset=utf-8")


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
    def get(self, request: SignedInRequest, receipt_id) -> HttpResponse:
        record = consent_record_for_receipt(request.user, receipt_id)
        pdf = receipt_pdf(json.loads(record.receipt), policy_text_for(record).text)
        return attachment(pdf, "application/pdf", f"receipt-{receipt_id}.pdf")


class AgeApi(APIView):
    """The age step, asked once before the first grant: a year of birth and nothing more."""

    class InputSerializer(serializers.Serializer):
        year_of_birth = serializers.JSONField(help_text="4 digits, e.g. 1990.")

    @extend_schema(
        operation_id="consents_age_state",
        tags=["consent"],
        summary="Whether the age step is answered, and whether a guardian consents for me",
        responses={
            200: inline_serializer(
                "AgeState",
                {"stated": serializers.BooleanField(), "under_14": serializers.BooleanField()},
            ),
            **errors({}),
        },
    )
    def get(self, request: SignedInRequest) -> Response:
        under_14 = minor_declared_on(request.user) is not None
        return Response({"stated": age_stated(request.user), "under_14": under_14})

    @extend_schema(
        operation_id="consents_age",
        tags=["consent"],
        summary="Give a year of birth before the first grant; under 14 goes to a guardian",
        request=inline_serializer("AgeStep", {"year_of_birth": serializers.IntegerField()}),
        responses={
            201: inline_serializer(
                "AgeStated",
                {
                    "under_14": serializers.BooleanField(),
                    "next": serializers.ChoiceField(choices=["grant", "guardian"]),
                },
            ),
            **errors(
                {
                    400: ["invalid", "malformed_request", "invalid_year"],
                    409: ["age_stated", "erasure_in_progress"],
                }
            ),
        },
    )
    def post(self, request: SignedInRequest) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        evidence = client_evidence_for(request, method=ConsentRecord.Method.API)
        under_14 = age_state(
            subject=request.user,
            birth_year=serializer.validated_data["year_of_birth"],
            evidence=evidence,
        )
        body = {"under_14": under_14, "next": "guardian" if under_14 else "grant"}
        return Response(body, status=status.HTTP_201_CREATED)


class MinorDeclarationApi(APIView):
    """A correction: the subject who said 14 or over declares an age under 14; from then on a
    guardian consents for them."""

    @extend_schema(
        operation_id="consents_minor_declaration",
        tags=["consent"],
        summary="Correct the age step to under 14: consents given alone are withdrawn",
        request=None,
        responses={
            201: inline_serializer(
                "MinorDeclared", {"under_14_declared_on": serializers.DateField()}
            ),
            **errors({409: ["already_declared", "erasure_in_progress"]}),
        },
    )
    def post(self, request: SignedInRequest) -> Response:
        evidence = client_evidence_for(request, method=ConsentRecord.Method.API)
        minor_declaration_create(subject=request.user, evidence=evidence)
        declared = minor_declared_on(request.user)
        return Response({"under_14_declared_on": declared}, status=status.HTTP_201_CREATED)


def _messages(detail, prefix: str = "") -> list[str]:
    """Nested validation errors as flat messages, each prefixed with where it is."""
    if isinstance(detail, dict):
        return [m for key, value in detail.items() for m in _messages(value, f"{prefix}{key}: ")]
    if isinstance(detail, list):
        return [m for value in detail for m in _messages(value, prefix)]
    return [f"{prefix}{detail}"]


class _FlatListField(serializers.ListField):
    """A list whose items' errors come back as one flat list of messages: the API's error body
    has one list of messages per input field (``compliance_site.openapi``)."""

    def run_child_validation(self, data):
        try:
            return super().run_child_validation(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError(_messages(exc.detail)) from None


_PURPOSES = _FlatListField(
    child=StrictCharField(max_length=64),
    min_length=1,
    max_length=8,
    help_text="The purposes the one code grants, for this child only.",
)


class GuardianRequestApi(APIView):
    class InputSerializer(serializers.Serializer):
        phone = StrictCharField(max_length=PHONE_MAX_LENGTH)
        # Any text: the service refuses what is not a known code as ``invalid_region``.
        region = StrictCharField(required=False, allow_blank=True, help_text=REGION_HELP)
        purposes = _PURPOSES

    @extend_schema(
        operation_id="consents_guardian_request",
        tags=["consent"],
        summary="Text ONE code to a parent or guardian, who then consents for a child under 14",
        request=InputSerializer,
        responses={
            202: ACCEPTED,
            **errors(
                {
                    400: [
                        "invalid",
                        "malformed_request",
                        "invalid_phone",
                        "invalid_region",
                        "invalid_purposes",
                    ],
                    404: ["unknown_purpose"],
                    409: ["guardian_not_needed", "guardian_is_subject"],
                    429: ["rate_limited"],
                    503: ["sms_unavailable"],
                }
            ),
        },
    )
    def post(self, request: SignedInRequest) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        guardian_code_request(
            subject=request.user, client_ip=client_ip_for(request), **serializer.validated_data
        )
        detail = _("If this number can receive text messages, a code is on its way.")
        return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)


class GuardianGrantApi(APIView):
    class InputSerializer(serializers.Serializer):
        phone = StrictCharField(max_length=PHONE_MAX_LENGTH)
        code = StrictCharField(
            min_length=CODE_LENGTH,
            max_length=CODE_LENGTH,
            validators=[RegexValidator(r"^[0-9]{6}\Z", _("The code is 6 digits."))],
        )
        relationship = serializers.ChoiceField(choices=GuardianRelationship.choices)
        consents = _FlatListField(child=_PolicyQuoteSerializer(), min_length=1, max_length=8)

    @extend_schema(
        operation_id="consents_guardian_grant",
        tags=["consent"],
        summary="A parent or guardian consents for a child to every purpose the code was sent for",
        request=InputSerializer,
        responses={
            201: inline_serializer(
                "Receipts", {"receipts": serializers.ListField(child=_ReceiptDoc())}
            ),
            **errors(
                {
                    400: [
                        "invalid",
                        "malformed_request",
                        "invalid_phone",
                        "invalid_code",
                        "invalid_purposes",
                        "invalid_relationship",
                        "locked_out",
                    ],
                    403: ["guardian_is_minor"],
                    404: ["unknown_purpose"],
                    409: ["guardian_not_needed", "already_granted", "policy_mismatch"],
                    429: ["rate_limited"],
                }
            ),
        },
    )
    def post(self, request: SignedInRequest) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        records = consent_guardian_grant(
            subject=request.user,
            phone=data["phone"],
            code=data["code"],
            relationship=data["relationship"],
            quotes=[PolicyQuote(**quote) for quote in data["consents"]],
            evidence=client_evidence_for(request, method=ConsentRecord.Method.API),
            client_ip=client_ip_for(request),
        )
        receipts = [json.loads(record.receipt) for record in records]
        return Response({"receipts": receipts}, status=status.HTTP_201_CREATED)
