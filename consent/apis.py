"""Sign-in and consent API: thin views that parse input, call one service, and answer."""

from __future__ import annotations

import json

from django.core.validators import RegexValidator
from django.http import HttpResponse
from django.utils.translation import gettext as _
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from consent.erasure import erasure_certificate, erasure_for_token, erasure_request
from consent.models import ApiToken, ConsentRecord
from consent.receipts import receipt_pdf
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


class OtpRequestApi(APIView):
    # Callers have no session and no token yet: no authentication, so no CSRF check either.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        phone = StrictCharField(max_length=PHONE_MAX_LENGTH)

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

    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = token_login(**serializer.validated_data)
        return Response(self.OutputSerializer({"token": key}).data, status=status.HTTP_200_OK)


class LogoutApi(APIView):
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

    def get(self, request: Request) -> Response:
        states = consent_states_for(request.user)
        return Response(self.OutputSerializer(states, many=True).data)

    def post(self, request: Request) -> Response:
        serializer = _PolicyQuoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        evidence = client_evidence_for(request, method=ConsentRecord.Method.API)
        record = consent_grant(subject=request.user, evidence=evidence, **serializer.validated_data)
        return _receipt_response(record, status.HTTP_201_CREATED)


class ConsentWithdrawApi(APIView):
    def delete(self, request: Request, purpose: str) -> Response:
        evidence = client_evidence_for(request, method=ConsentRecord.Method.API)
        record = consent_withdraw(subject=request.user, purpose=purpose, evidence=evidence)
        return _receipt_response(record, status.HTTP_200_OK)


class ReceiptApi(APIView):
    """The signed receipt exactly as issued; only its subject may read it (others: 404)."""

    def get(self, request: Request, receipt_id) -> HttpResponse:
        record = consent_record_for_receipt(request.user, receipt_id)
        return HttpResponse(record.receipt, content_type="application/json; charset=utf-8")


class ReceiptPdfApi(APIView):
    def get(self, request: Request, receipt_id) -> HttpResponse:
        record = consent_record_for_receipt(request.user, receipt_id)
        pdf = receipt_pdf(json.loads(record.receipt), policy_text_for(record).text)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="receipt-{receipt_id}.pdf"'
        return response


class MinorDeclarationApi(APIView):
    """The subject declares an age under 14; from then on a guardian consents for them."""

    def post(self, request: Request) -> Response:
        evidence = client_evidence_for(request, method=ConsentRecord.Method.API)
        minor_declaration_create(subject=request.user, evidence=evidence)
        declared = minor_declared_on(request.user)
        return Response({"under_14_declared_on": declared}, status=status.HTTP_201_CREATED)


class GuardianRequestApi(APIView):
    class InputSerializer(serializers.Serializer):
        phone = StrictCharField(max_length=PHONE_MAX_LENGTH)

    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        guardian_code_request(
            subject=request.user,
            phone=serializer.validated_data["phone"],
            client_ip=client_ip_for(request),
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

    def post(self, request: Request) -> Response:
        erasure, token = erasure_request(subject=request.user)
        erasure.refresh_from_db(fields=["status"])
        return Response({"id": token, "status": erasure.status}, status=status.HTTP_202_ACCEPTED)


class ErasureStatusApi(APIView):
    """The status and, once done, the signed certificate. The token is the only credential:
    it keeps working after the account, its sessions and its API tokens are gone."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request: Request, token: str) -> Response:
        erasure = erasure_for_token(token)
        return Response({"status": erasure.status, "certificate": erasure_certificate(erasure)})
