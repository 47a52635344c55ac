"""API of identity: SMS codes, tokens, sign-out."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance_site.api import StrictCharField
from compliance_site.client_address import client_ip_for
from compliance_site.openapi import ACCEPTED, errors
from consent.identity.models import ApiToken
from consent.identity.services import (
    CODE_LENGTH,
    PHONE_MAX_LENGTH,
    otp_request,
    session_logout,
    token_login,
    token_logout,
)

REGION_HELP = (
    "ISO 3166 alpha-2 code of the country whose national format `phone` is typed in "
    "(e.g. CN for 13800138000). Ignored for a number given with + and its country code; "
    "without it, `phone` must have them."
)


class OtpRequestApi(APIView):
    # Callers have no session and no token yet: no authentication, so no CSRF check either.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        phone = StrictCharField(max_length=PHONE_MAX_LENGTH)
        # Any text: the service refuses what is not a known code as ``invalid_region``.
        region = StrictCharField(required=False, allow_blank=True, help_text=REGION_HELP)

    @extend_schema(
        operation_id="auth_otp_request",
        tags=["sign-in"],
        summary="Text a 6-digit sign-in code to a mobile number",
        description="The same answer whether or not the number has an account.",
        request=InputSerializer,
        responses={
            202: ACCEPTED,
            **errors(
                {
                    400: ["invalid", "malformed_request", "invalid_phone", "invalid_region"],
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
        otp_request(**serializer.validated_data, client_ip=client_ip_for(request))
        # The same bytes for every number, known or not.
        detail = _("If this number can receive text messages, a code is on its way.")
        return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)


class OtpVerifyApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        phone = StrictCharField(max_length=PHONE_MAX_LENGTH)
        # Any text: the service refuses what is not a known code as ``invalid_region``.
        region = StrictCharField(required=False, allow_blank=True, help_text=REGION_HELP)
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
                        "invalid_region",
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
        key = token_login(**serializer.validated_data, client_ip=client_ip_for(request))
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
