"""Public, read-only endpoints of the audit log: checkpoint, key, proofs (RFC 9162)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import match_token
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import selectors, signing
from audit.exports import auditor_export_bundle
from audit.selectors import InvalidParameter
from compliance_site.errors import Forbidden, NotFound
from compliance_site.http import attachment
from compliance_site.openapi import errors

_DECIMAL = re.compile(r"[0-9]{1,19}")


def _int_param(request, name: str) -> int:
    raw = request.query_params.get(name)
    if raw is None or _DECIMAL.fullmatch(raw) is None:
        raise InvalidParameter(f"{name} must be a non-negative integer.")
    return int(raw)


def _query(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, int, required=True, description=description)


_HEX = serializers.RegexField(r"^[0-9a-f]{64}$", help_text="SHA-256, hex")
_PATH = serializers.ListField(child=_HEX, help_text="RFC 9162 node hashes, hex")
_BAD = {400: ["invalid_parameter"]}


class _PublicApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class CheckpointApi(_PublicApi):
    @extend_schema(
        operation_id="audit_checkpoint",
        tags=["audit"],
        summary="The latest signed checkpoint of the audit log",
        responses={
            200: inline_serializer(
                "Checkpoint",
                {
                    "log_id": serializers.CharField(),
                    "tree_size": serializers.IntegerField(),
                    "root_hash": _HEX,
                    "timestamp": serializers.CharField(),
                    "key_id": serializers.CharField(help_text="See /api/v1/audit/keys"),
                    "signature": serializers.CharField(
                        help_text="Ed25519 over the JCS body, base64"
                    ),
                },
            ),
            **errors({404: ["not_found"]}, signed_in=False),
        },
    )
    def get(self, request):
        checkpoint = selectors.checkpoint_latest()
        if checkpoint is None:
            raise NotFound("No checkpoint has been issued yet.")
        return Response(checkpoint.document())


class CheckpointNoteApi(_PublicApi):
    """The latest checkpoint as a C2SP signed note (tlog-checkpoint), with the log's signature
    and every witness cosignature, as tools of the transparency-log ecosystem read it."""

    @extend_schema(
        operation_id="audit_checkpoint_note",
        tags=["audit"],
        summary="The latest checkpoint as a C2SP signed note, with witness cosignatures",
        responses={
            (200, "text/plain"): OpenApiTypes.STR,
            **errors({404: ["not_found"]}, signed_in=False),
        },
    )
    def get(self, request):
        checkpoint = selectors.checkpoint_latest()
        if checkpoint is None:
            raise NotFound("No checkpoint has been issued yet.")
        return HttpResponse(
            selectors.checkpoint_note(checkpoint), content_type="text/plain; charset=utf-8"
        )


class PublicKeyApi(_PublicApi):
    @extend_schema(
        operation_id="audit_public_key",
        tags=["audit"],
        summary="A signing key's public half (PEM): the current checkpoint key, or `key_id`'s",
        parameters=[
            OpenApiParameter(
                "key_id", str, required=False, description="A key id from /api/v1/audit/keys"
            )
        ],
        responses={
            (200, "application/x-pem-file"): OpenApiTypes.STR,
            **errors({404: ["not_found"]}, signed_in=False),
        },
    )
    def get(self, request):
        kid = request.query_params.get("key_id")
        if kid is None:
            return HttpResponse(signing.public_key_pem(), content_type="application/x-pem-file")
        entry = signing.published_key(kid)
        if entry is None:
            raise NotFound("No published key has this id.")
        return HttpResponse(signing.pem(entry.key), content_type="application/x-pem-file")


class KeysApi(_PublicApi):
    """The key history: every signing key, current and retired, with its job and id, so that
    a document signed before a rotation still verifies (``audit.signing``)."""

    @extend_schema(
        operation_id="audit_keys",
        tags=["audit"],
        summary="Every signing key, current and retired: job, id, PEM, validity",
        responses={
            200: inline_serializer(
                "SigningKey",
                {
                    "job": serializers.CharField(),
                    "key_id": serializers.CharField(),
                    "algorithm": serializers.CharField(),
                    "public_key": serializers.CharField(help_text="PEM"),
                    "fingerprint": _HEX,
                    "valid_from": serializers.CharField(allow_null=True),
                    "valid_until": serializers.CharField(allow_null=True),
                },
                many=True,
            )
        },
    )
    def get(self, request):
        return Response(signing.key_history_json())


class InclusionProofApi(_PublicApi):
    @extend_schema(
        operation_id="audit_proof_inclusion",
        tags=["audit"],
        summary="Proof that the event at `index` is in the tree of `tree_size` events",
        parameters=[_query("index", "Leaf index"), _query("tree_size", "Tree size")],
        responses={
            200: inline_serializer(
                "InclusionProof",
                {
                    "leaf_index": serializers.IntegerField(),
                    "tree_size": serializers.IntegerField(),
                    "leaf_hash": _HEX,
                    "audit_path": _PATH,
                },
            ),
            **errors(_BAD, signed_in=False),
        },
    )
    def get(self, request):
        index = _int_param(request, "index")
        tree_size = _int_param(request, "tree_size")
        return Response(selectors.inclusion_proof(index=index, tree_size=tree_size))


class ConsistencyProofApi(_PublicApi):
    @extend_schema(
        operation_id="audit_proof_consistency",
        tags=["audit"],
        summary="Proof that the tree of `first` events is a prefix of the tree of `second`",
        parameters=[_query("first", "Older tree size"), _query("second", "Newer tree size")],
        responses={
            200: inline_serializer(
                "ConsistencyProof",
                {
                    "first": serializers.IntegerField(),
                    "second": serializers.IntegerField(),
                    "proof": _PATH,
                },
            ),
            **errors(_BAD, signed_in=False),
        },
    )
    def get(self, request):
        first = _int_param(request, "first")
        second = _int_param(request, "second")
        return Response(selectors.consistency_proof(first=first, second=second))


# --- the auditor's export -----------------------------------------------------------------------

OTP_HEADER = "X-OTP-Token"
_OTP = re.compile(r"[0-9]{6,8}")


def check_auditor_access(request) -> None:
    """Auditors only, and only after a second factor.

    A staff member can sign in to the portal or get an API token with an SMS code alone
    (their number is also an identity), which is one factor. So: a session must be verified
    by the admin's TOTP sign-in (``is_verified()``); an API token must come with the current
    TOTP code of one of the user's devices in the ``X-OTP-Token`` header (single use, with
    django-otp's throttling). Everyone else, signed in or not: 403 ``permission_denied``.
    """
    user = request.user
    if not selectors.is_auditor(user):
        raise Forbidden(_("Only auditors may export the audit log."), code="permission_denied")
    if isinstance(request.successful_authenticator, SessionAuthentication):
        verified = request._request.user.is_verified()
    else:
        code = request.headers.get(OTP_HEADER, "")
        verified = bool(_OTP.fullmatch(code)) and match_token(user, code) is not None
    if not verified:
        raise Forbidden(
            _(
                "Exports need a second factor: sign in to the staff admin with your "
                "authenticator code, or send its current code in the X-OTP-Token header."
            ),
            code="otp_required",
        )


def _time_param(request, name: str) -> datetime | None:
    """An ISO 8601 time (a date alone is its midnight); without a zone, UTC."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    # A "+" in a query string arrives as a space unless the client encoded it.
    raw = raw.strip().replace(" ", "+")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidParameter(f"{name} must be an ISO 8601 date or time.") from None
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


class AuditExportApi(APIView):
    """The auditor's bundle: the verifiable log export plus a summary PDF and CSVs."""

    # Checked in the view, so that anonymous callers get the same 403 as everyone else.
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="audit_export",
        tags=["audit"],
        summary="Auditor export: verifiable log, summary PDF, CSVs (zip)",
        description=(
            "Auditors only. A session must be verified by the admin's TOTP sign-in; an API "
            "token needs the current TOTP code in the `X-OTP-Token` header."
        ),
        parameters=[
            OpenApiParameter("since", str, description="ISO 8601; without a zone, UTC"),
            OpenApiParameter("until", str, description="ISO 8601; without a zone, UTC"),
            OpenApiParameter(OTP_HEADER, str, OpenApiParameter.HEADER, description="TOTP code"),
        ],
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            **errors(
                {400: ["invalid_parameter"], 403: ["permission_denied", "otp_required"]},
                signed_in=False,
            ),
        },
    )
    def get(self, request):
        check_auditor_access(request)
        since, until = _time_param(request, "since"), _time_param(request, "until")
        bundle = auditor_export_bundle(actor=request.user, since=since, until=until)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        return attachment(bundle, "application/zip", f"audit-export-{stamp}.zip")
