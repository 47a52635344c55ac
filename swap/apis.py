"""Templates, swap jobs and their results: thin DRF views over the services and selectors."""

from __future__ import annotations

from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance_site.api import AnyAcceptNegotiation
from compliance_site.openapi import errors
from consent.identity.http import SignedInRequest
from swap.models import SwapJob
from swap.selectors import (
    notice_text,
    notices_of,
    swap_job_for,
    swap_jobs_of,
    template_usable_for,
    template_usable_until,
    templates_usable,
)
from swap.services import (
    swap_job_delete,
    swap_job_request,
    swap_mark_check,
    swap_result_open,
    swap_template_withdraw_by_secret,
)
from swap.throttles import mark_check_attempt_check, withdrawal_attempt_check

_CONSENT = {403: ["consent_required", "consent_outdated"]}


_JOB_NOT_FOUND = {404: ["swap_not_found"]}
_TEMPLATE_REFUSED = {404: ["template_not_found"], 422: ["template_unavailable (see `reason`)"]}


class _LicenceSerializer(serializers.Serializer):
    # (assignment: a declared field leaves the class body, so it never shadows Field.source.)
    source = serializers.CharField()  # type: ignore[assignment]
    terms = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True, help_text="null: does not expire")


class TemplateListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        title = serializers.CharField()
        kind = serializers.ChoiceField(choices=["image", "video"])
        width = serializers.IntegerField()
        height = serializers.IntegerField()
        duration_seconds = serializers.FloatField(allow_null=True)
        licence = _LicenceSerializer()
        usable_until = serializers.SerializerMethodField()
        poster = serializers.SerializerMethodField()

        def get_usable_until(self, template) -> str | None:
            until = template_usable_until(template)
            return serializers.DateTimeField().to_representation(until) if until else None

        def get_poster(self, template) -> str:
            return reverse("api-template-poster", args=[template.pk])

    @extend_schema(
        operation_id="templates_list",
        tags=["swaps"],
        summary="The templates usable now",
        description=(
            "Only templates with a current licence and the depicted person's current consent "
            "to face editing are listed; `usable_until` is when the first of them ends."
        ),
        responses={200: OutputSerializer(many=True), **errors({})},
    )
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(templates_usable(), many=True).data)


class TemplatePosterApi(APIView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="templates_poster",
        tags=["swaps"],
        summary="A usable template's poster (a small JPEG still)",
        responses={
            (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY),
            **errors(_TEMPLATE_REFUSED),
        },
    )
    def get(self, request: Request, template_id: str) -> FileResponse:
        template = template_usable_for(template_id)
        response = FileResponse(template.poster.open("rb"), content_type="image/jpeg")
        # The depicted person's face: a browser asks again each time, so that once they
        # withdraw (or the template stops being usable) no cached copy is shown.
        response["Cache-Control"] = "private, no-cache"
        return response


class _JobOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=SwapJob.Status.values)
    progress = serializers.IntegerField(help_text="0-100")
    error = serializers.CharField(help_text="Why it failed or was cancelled (a stable code)")
    kind = serializers.ChoiceField(choices=["image", "video"])
    template = serializers.UUIDField(source="template_id")
    capture = serializers.UUIDField(source="capture_id", allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(help_text="When the job and its result are erased")
    stored = serializers.BooleanField(help_text="Kept 30 days under output_storage")
    result = serializers.SerializerMethodField()

    def get_result(self, job: SwapJob) -> str | None:
        if job.status != SwapJob.Status.DONE:
            return None
        return reverse("api-swap-result", args=[job.pk])


class SwapListApi(APIView):
    class InputSerializer(serializers.Serializer):
        capture = serializers.CharField(max_length=64, help_text="One of my captures' id")
        template = serializers.CharField(max_length=64, help_text="A usable template's id")

    class CreatedSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        status = serializers.CharField()

    @extend_schema(
        operation_id="swaps_list",
        tags=["swaps"],
        summary="My swaps, newest first",
        responses={200: _JobOutputSerializer(many=True), **errors({})},
    )
    def get(self, request: SignedInRequest) -> Response:
        return Response(_JobOutputSerializer(swap_jobs_of(request.user), many=True).data)

    @extend_schema(
        operation_id="swaps_create",
        tags=["swaps"],
        summary="Swap my face from a capture into a template",
        description="Queued at once (202); poll `GET /api/v1/swaps/{id}` for its progress.",
        request=InputSerializer,
        responses={
            202: CreatedSerializer,
            **errors(
                {
                    400: ["invalid", "malformed_request"],
                    404: ["capture_not_found", "template_not_found"],
                    422: ["capture_not_live", "template_unavailable (see `reason`)"],
                    **_CONSENT,
                }
            ),
        },
    )
    def post(self, request: SignedInRequest) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = swap_job_request(
            subject=request.user,
            capture_id=serializer.validated_data["capture"],
            template_id=serializer.validated_data["template"],
        )
        job.refresh_from_db(fields=["status"])  # eager runs (benchmarks) finish at once
        return Response(self.CreatedSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class SwapDetailApi(APIView):
    @extend_schema(
        operation_id="swaps_retrieve",
        tags=["swaps"],
        summary="One of my swaps: status and progress",
        responses={200: _JobOutputSerializer, **errors(_JOB_NOT_FOUND)},
    )
    def get(self, request: SignedInRequest, job_id: str) -> Response:
        job = swap_job_for(subject=request.user, job_id=job_id)
        return Response(_JobOutputSerializer(job).data)

    @extend_schema(
        operation_id="swaps_destroy",
        tags=["swaps"],
        summary="Delete a swap and its result, or cancel it while it runs",
        description="204 when deleted; 202 with the job (`cancelled`) when it was running.",
        responses={
            202: _JobOutputSerializer,
            204: OpenApiResponse(description="Deleted"),
            **errors(_JOB_NOT_FOUND),
        },
    )
    def delete(self, request: SignedInRequest, job_id: str) -> Response:
        cancelled = swap_job_delete(subject=request.user, job_id=job_id)
        if cancelled is not None:
            return Response(_JobOutputSerializer(cancelled).data, status=status.HTTP_202_ACCEPTED)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SwapResultApi(APIView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="swaps_result",
        tags=["swaps"],
        summary="My swap's result: a labelled PNG or MP4, decrypted for me only",
        parameters=[
            OpenApiParameter(
                "disposition",
                str,
                enum=["inline", "attachment"],
                description="`inline` to show it in a page; a download otherwise",
            )
        ],
        responses={
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "video/mp4"): OpenApiResponse(OpenApiTypes.BINARY),
            **errors({404: ["swap_not_found", "result_gone"], 409: ["result_not_ready"]}),
        },
    )
    def get(self, request: SignedInRequest, job_id: str) -> StreamingHttpResponse:
        opened = swap_result_open(subject=request.user, job_id=job_id)
        # Streamed: each segment is read from storage, decrypted and sent in turn.
        response = StreamingHttpResponse(opened.content.chunks, content_type=opened.media_type)
        response["Content-Length"] = str(opened.content.size)
        disposition = content_disposition_header(
            request.query_params.get("disposition") != "inline", opened.filename
        )
        if disposition:  # always, since the file has a name
            response["Content-Disposition"] = disposition
        # The output holds a face: no shared cache keeps a copy.
        response["Cache-Control"] = "private, no-store"
        return response


class SwapNoticeListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        reason = serializers.CharField(help_text="A stable code: `depicted_consent_withdrawn`")
        template = serializers.CharField(source="template.title", help_text="Its title")
        swap_requested_at = serializers.DateTimeField(help_text="When the erased swap was asked")
        created_at = serializers.DateTimeField(help_text="When the result was erased")
        expires_at = serializers.DateTimeField(help_text="When this notice is erased")
        text = serializers.SerializerMethodField(help_text="The notice, in the request's language")

        def get_text(self, notice) -> str:
            return notice_text(notice)

    @extend_schema(
        operation_id="swap_notices_list",
        tags=["swaps"],
        summary="Why results of mine were erased without my asking, newest first",
        description=(
            "A notice is left when a result is erased because the person shown in its "
            "template withdrew their consent to face editing; it names the template and the "
            "dates, nothing about that person. Kept 30 days."
        ),
        responses={200: OutputSerializer(many=True), **errors({})},
    )
    def get(self, request: SignedInRequest) -> Response:
        return Response(self.OutputSerializer(notices_of(request.user), many=True).data)


class DepictedWithdrawalApi(APIView):
    """The depicted person's withdrawal with their secret: no account, no session."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        secret = serializers.CharField(
            max_length=120, help_text="The withdrawal secret printed on the consent record"
        )

    class OutputSerializer(serializers.Serializer):
        template = serializers.CharField(source="template.title")
        stopped = serializers.IntegerField(help_text="Swaps being made, stopped")
        cancelled = serializers.IntegerField(help_text="Waiting swaps, cancelled")
        erased = serializers.IntegerField(help_text="Results made with the template, erased")
        notified = serializers.IntegerField(help_text="Users told why their result is gone")

    @extend_schema(
        operation_id="depicted_withdrawals_create",
        tags=["swaps"],
        summary="Withdraw a depicted person's consent to face editing with their secret",
        description=(
            "The template can no longer be used; waiting swaps into it are cancelled, running "
            "ones stop before their next frames, every result made with it is erased and its "
            "owner gets a notice. A wrong or used secret is one refusal (403). Every attempt "
            "counts against the caller's network (429 past the limit)."
        ),
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            **errors(
                {
                    400: ["invalid", "malformed_request"],
                    403: ["withdrawal_secret_refused"],
                    429: ["rate_limited"],
                },
                signed_in=False,
            ),
        },
    )
    def post(self, request: Request) -> Response:
        withdrawal_attempt_check(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        done = swap_template_withdraw_by_secret(secret=serializer.validated_data["secret"])
        return Response(self.OutputSerializer(done).data)


class MarkCheckApi(APIView):
    """Public: was this image or clip made by this service, and when? No account."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(help_text="JPEG, PNG or WebP, or an MP4 or WebM clip")

    class OutputSerializer(serializers.Serializer):
        made_here = serializers.BooleanField(help_text="Made by this service's face swap")
        made_at = serializers.DateTimeField(
            allow_null=True, help_text="When it was made; null when not made here"
        )

    @extend_schema(
        operation_id="made_here_check",
        tags=["swaps"],
        summary="Was this image or clip made here?",
        description=(
            "Reads the invisible mark every swap result carries (it survives re-encoding, "
            "resizing and cropping) and answers whether this service made it and when, "
            "nothing else. The file is not kept. Every check counts against the caller's "
            "network (429 past the limit)."
        ),
        request={"multipart/form-data": InputSerializer},
        responses={
            200: OutputSerializer,
            **errors(
                {
                    400: ["invalid", "malformed_request"],
                    422: ["unprocessable"],
                    429: ["rate_limited"],
                },
                signed_in=False,
            ),
        },
    )
    def post(self, request: Request) -> Response:
        # mutant: delete — tests/swap/test_mark_check.py
        #   test_checks_are_limited_per_network_and_nothing_about_the_caller_is_kept
        mark_check_attempt_check(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        answer = swap_mark_check(data=serializer.validated_data["file"].read())
        return Response(self.OutputSerializer(answer).data)
