"""API of account erasure."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
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
from compliance_site.openapi import LANGUAGE_PARAMETER, errors
from consent.erasure.services import (
    erasure_certificate,
    erasure_certificate_pdf,
    erasure_for_token,
    erasure_request,
)
from consent.identity.authentication import TokenAuthentication
from consent.identity.http import SignedInRequest
from consent.ledger.selectors import (
    requested_language,
)

# --- erasure ------------------------------------------------------------------------------------


class ErasureApi(APIView):
    """Erase my account. Answers 202 with the status token (shown only here); with eager
    tasks (tests) the erasure is complete by then. API tokens only: a portal session (its
    cookie and the CSRF token every page carries) would skip the fresh code and the typed
    words the portal asks for (``/account/delete/``)."""

    authentication_classes = [TokenAuthentication]

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
    def post(self, request: SignedInRequest) -> Response:
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


class ErasureCertificatePdfApi(APIView):
    """The erasure certificate as a PDF; the same token rule as the status endpoint."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="me_erasure_certificate_pdf",
        tags=["erasure"],
        summary="The signed erasure certificate as a printable PDF",
        parameters=[LANGUAGE_PARAMETER],
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
