"""Liveness challenges and captures: thin DRF views over the services."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.closing import check_service_open
from biometrics.analysis.liveness import ACTIONS, challenge_seconds
from biometrics.selectors import (
    PURPOSE,
    capture_expires_at,
    capture_for,
    capture_retention,
    captures_of,
)
from biometrics.services import capture_create, capture_delete, liveness_challenge_issue
from biometrics.uploads import upload_sender, use_capture_upload_handlers
from compliance_site.openapi import errors
from consent.identity.http import SignedInRequest
from consent.ledger.gate import require_consent

_CONSENT = {403: ["consent_required", "consent_outdated"]}


class _ChallengeStepSerializer(serializers.Serializer):
    step = serializers.ChoiceField(choices=ACTIONS)
    start = serializers.FloatField(help_text="Seconds from the start of the recording")
    end = serializers.FloatField(help_text="The action must begin by then")


class LivenessChallengeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        steps = _ChallengeStepSerializer(many=True)
        record_seconds = serializers.SerializerMethodField()
        expires_at = serializers.DateTimeField()

        def get_record_seconds(self, challenge) -> float:
            """How long to record: until the last window closes, plus a little."""
            return challenge_seconds(challenge.steps)

    @extend_schema(
        operation_id="liveness_challenge",
        tags=["captures"],
        summary="A new random liveness challenge (voids the previous one)",
        description=(
            "Four timed actions. Show each step's prompt `start` seconds after the recording "
            "begins; the action must begin by `end`, and nothing else but blinks may happen. "
            "Record for `record_seconds`. Actions: " + ", ".join(f"`{a}`" for a in ACTIONS) + "."
        ),
        responses={200: OutputSerializer, **errors(_CONSENT)},
    )
    def get(self, request: SignedInRequest) -> Response:
        challenge = liveness_challenge_issue(subject=request.user)
        return Response(self.OutputSerializer(challenge).data)


class _CaptureOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField()
    expires_at = serializers.SerializerMethodField()
    liveness = serializers.JSONField()

    def get_expires_at(self, capture) -> str:
        expires = capture_expires_at(capture, self.context["purpose"])
        return serializers.DateTimeField().to_representation(expires)


def _captures_data(captures, *, many: bool = False):
    context = {"purpose": capture_retention()}
    return _CaptureOutputSerializer(captures, many=many, context=context).data


class _CaptureCreatedSerializer(serializers.Serializer):
    """Documentation only: what a new capture's answer holds."""

    id = serializers.UUIDField()
    liveness = serializers.JSONField(help_text="The check's verdict and public scores")


class CaptureListApi(APIView):
    """``GET``: the subject's own captures. ``POST`` (multipart ``photo``, ``video``,
    ``challenge``): a new capture; uploads are read into memory only, within their caps, and
    only once the consent gate has passed."""

    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        photo = serializers.FileField(allow_empty_file=False)
        video = serializers.FileField(allow_empty_file=False)
        challenge = serializers.CharField(max_length=64)

    def initial(self, request: Request, *args, **kwargs) -> None:
        # A POST passes the gate before anything reads its body (403, whatever it holds), then
        # gets the memory-only upload handlers; only then does DRF's authentication run, whose
        # CSRF check for a session is the first thing to read the body.
        if request.method == "POST":
            check_service_open()  # closing mode, before a byte of the body too
            # mutant: delete — tests/biometrics/test_capture_gate_first.py
            #   test_a_capture_without_consent_is_refused_by_the_api_before_a_byte_is_read
            require_consent(subject=upload_sender(request), purpose=PURPOSE)
            use_capture_upload_handlers(request._request)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="captures_list",
        tags=["captures"],
        summary="My captures",
        responses={200: _CaptureOutputSerializer(many=True), **errors({})},
    )
    def get(self, request: SignedInRequest) -> Response:
        return Response(_captures_data(captures_of(request.user), many=True))

    @extend_schema(
        operation_id="captures_create",
        tags=["captures"],
        summary="Enrol: a face photo and a video doing the challenge's steps",
        description=(
            "Multipart. The video is checked in memory and discarded; the photo and its face "
            "template are kept, encrypted. Any attempt uses the challenge up."
        ),
        request={"multipart/form-data": InputSerializer},
        responses={
            201: _CaptureCreatedSerializer,
            **errors(
                {
                    400: ["invalid", "malformed_request", "unexpected_file"],
                    413: ["upload_too_large"],
                    415: ["unsupported_media_type"],
                    422: [
                        "challenge_expired",
                        "unprocessable",
                        "no_face",
                        "liveness check codes (see `liveness`)",
                    ],
                    **_CONSENT,
                }
            ),
        },
    )
    def post(self, request: SignedInRequest) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        capture = capture_create(
            subject=request.user,
            challenge_id=data["challenge"],
            photo=_read(data["photo"]),
            video=_read(data["video"]),
        )
        body = {"id": str(capture.pk), "liveness": capture.liveness}
        return Response(body, status=status.HTTP_201_CREATED)


def _read(upload) -> bytes:
    """The upload's bytes; the in-memory file is closed at once (the video is never kept)."""
    try:
        return upload.read()
    finally:
        upload.close()


class CaptureDetailApi(APIView):
    @extend_schema(
        operation_id="captures_retrieve",
        tags=["captures"],
        summary="One of my captures",
        responses={200: _CaptureOutputSerializer, **errors({404: ["capture_not_found"]})},
    )
    def get(self, request: SignedInRequest, capture_id: str) -> Response:
        return Response(_captures_data(capture_for(subject=request.user, capture_id=capture_id)))

    @extend_schema(
        operation_id="captures_delete",
        tags=["captures"],
        summary="Delete a capture: its photo, face template and data",
        responses={
            204: OpenApiResponse(description="Deleted."),
            **errors({404: ["capture_not_found"]}),
        },
    )
    def delete(self, request: SignedInRequest, capture_id: str) -> Response:
        capture_delete(subject=request.user, capture_id=capture_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
