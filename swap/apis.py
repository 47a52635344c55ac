"""Templates, swap jobs and their results: thin DRF views over the services and selectors."""

from __future__ import annotations

import io

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

from audit.closing import check_service_open
from biometrics.selectors import challenge_record_seconds
from biometrics.uploads import upload_sender, use_capture_upload_handlers
from compliance_site.api import AnyAcceptNegotiation
from compliance_site.openapi import errors
from consent.identity.http import SignedInRequest
from consent.ledger.gate import require_consent
from swap.models import SwapJob
from swap.selectors import (
    EPHEMERAL_PURPOSE,
    notice_text,
    notices_of,
    share_links_of,
    swap_job_for,
    swap_jobs_of,
    template_usable_for,
    template_usable_until,
    templates_usable,
)
from swap.services import (
    SHARE_DEFAULT_HOURS,
    SHARE_MAX_HOURS,
    SHARE_MAX_VIEWS,
    share_link_create,
    share_link_open,
    share_link_revoke,
    swap_ephemeral_challenge,
    swap_ephemeral_make,
    swap_job_delete,
    swap_job_request,
    swap_mark_check,
    swap_result_open,
    swap_template_withdraw_by_secret,
)
from swap.throttles import (
    mark_check_attempt_check,
    share_view_attempt_check,
    withdrawal_attempt_check,
)

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
    ephemeral = serializers.BooleanField(
        help_text="Made without enrolment (ephemeral_swap): no capture, only the result kept"
    )
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
        download = request.query_params.get("disposition") != "inline"
        opened = swap_result_open(subject=request.user, job_id=job_id, download=download)
        # Streamed: each segment is read from storage, decrypted and sent in turn.
        response = StreamingHttpResponse(opened.content.chunks, content_type=opened.media_type)
        response["Content-Length"] = str(opened.content.size)
        disposition = content_disposition_header(download, opened.filename)
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


# --- swaps without enrolment --------------------------------------------------------------------


class EphemeralChallengeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        steps = serializers.JSONField(help_text="Four timed actions: `step`, `start`, `end`")
        record_seconds = serializers.SerializerMethodField()
        expires_at = serializers.DateTimeField()

        def get_record_seconds(self, challenge) -> float:
            return challenge_record_seconds(challenge)

    @extend_schema(
        operation_id="ephemeral_swap_challenge",
        tags=["swaps"],
        summary="A liveness challenge for a swap without enrolment",
        description="As `GET /api/v1/liveness/challenge`, under `ephemeral_swap` consent.",
        responses={200: OutputSerializer, **errors(_CONSENT)},
    )
    def get(self, request: SignedInRequest) -> Response:
        challenge = swap_ephemeral_challenge(subject=request.user)
        return Response(self.OutputSerializer(challenge).data)


class EphemeralSwapApi(APIView):
    """``POST`` (multipart ``photo``, ``video``, ``challenge``, ``template``): a swap without
    enrolment, made in the request; the uploads are read into memory only, within their caps,
    and only once the consent gate has passed."""

    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        photo = serializers.FileField(allow_empty_file=False)
        video = serializers.FileField(allow_empty_file=False)
        challenge = serializers.CharField(max_length=64)
        template = serializers.CharField(max_length=64, help_text="A usable picture template")

    def initial(self, request: Request, *args, **kwargs) -> None:
        # The gate before a byte of the body is read, then the memory-only upload handlers
        # (as the capture endpoint: ``biometrics.apis.CaptureListApi``).
        if request.method == "POST":
            check_service_open()  # closing mode, before a byte of the body too
            # mutant: delete — tests/swap/test_ephemeral.py
            #   test_an_ephemeral_swap_without_consent_is_refused_before_a_byte_is_read
            require_consent(subject=upload_sender(request), purpose=EPHEMERAL_PURPOSE)
            use_capture_upload_handlers(request._request)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="ephemeral_swaps_create",
        tags=["swaps"],
        summary="Swap once without enrolling: a photo, a challenge video and a template",
        description=(
            "Multipart. Made while you wait (a picture template only): the photo and the video "
            "are checked in memory as a capture is, the swap is made, and only the labelled "
            "result is kept (24 hours, or 30 days under output storage). Nothing of the face "
            "is stored or queued. Any attempt uses the challenge up."
        ),
        request={"multipart/form-data": InputSerializer},
        responses={
            201: _JobOutputSerializer,
            **errors(
                {
                    400: ["invalid", "malformed_request", "unexpected_file"],
                    404: ["template_not_found"],
                    413: ["upload_too_large"],
                    422: [
                        "challenge_invalid",
                        "challenge_expired",
                        "template_unavailable (see `reason`)",
                        "template_is_a_clip",
                        "liveness check codes",
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
        job = swap_ephemeral_make(
            subject=request.user,
            challenge_id=data["challenge"],
            template_id=data["template"],
            photo=_read(data["photo"]),
            video=_read(data["video"]),
        )
        return Response(_JobOutputSerializer(job).data, status=status.HTTP_201_CREATED)


def _read(upload) -> bytes:
    """The upload's bytes; the in-memory file is closed at once."""
    try:
        return upload.read()
    finally:
        upload.close()


# --- share links --------------------------------------------------------------------------------


class _ShareLinkSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    swap = serializers.UUIDField(source="job_id")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    max_views = serializers.IntegerField(allow_null=True)
    views = serializers.IntegerField()


class ShareLinkListApi(APIView):
    class InputSerializer(serializers.Serializer):
        expires_in_hours = serializers.IntegerField(
            min_value=1, max_value=SHARE_MAX_HOURS, default=SHARE_DEFAULT_HOURS
        )
        max_views = serializers.IntegerField(
            min_value=1, max_value=SHARE_MAX_VIEWS, required=False, allow_null=True
        )

    class CreatedSerializer(_ShareLinkSerializer):
        url = serializers.CharField(help_text="The link: shown once, only its digest is kept")

    @extend_schema(
        operation_id="share_links_list",
        tags=["share links"],
        summary="The live share links of one of my results",
        responses={200: _ShareLinkSerializer(many=True), **errors(_JOB_NOT_FOUND)},
    )
    def get(self, request: SignedInRequest, job_id: str) -> Response:
        job = swap_job_for(subject=request.user, job_id=job_id)
        links = share_links_of(request.user, job_id=job.pk)
        return Response(_ShareLinkSerializer(links, many=True).data)

    @extend_schema(
        operation_id="share_links_create",
        tags=["share links"],
        summary="Make a link to one of my results",
        description=(
            "Anyone with the link sees the result (labelled, with its provenance) and can "
            "download the labelled file, without an account, until it expires (default 24 "
            "hours, at most 7 days, never after the result), reaches `max_views`, is revoked, "
            "or the result goes. The `url` is shown only here."
        ),
        request=InputSerializer,
        responses={
            201: CreatedSerializer,
            **errors({400: ["invalid"], 404: ["swap_not_found"], 409: ["result_not_ready"]}),
        },
    )
    def post(self, request: SignedInRequest, job_id: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link, token = share_link_create(
            subject=request.user,
            job_id=job_id,
            hours=serializer.validated_data["expires_in_hours"],
            max_views=serializer.validated_data.get("max_views"),
        )
        body = {**_ShareLinkSerializer(link).data, "url": share_url(request, token)}
        return Response(body, status=status.HTTP_201_CREATED)


def share_url(request, token: str) -> str:
    return request.build_absolute_uri(reverse("swap:shared", args=[token]))


class ShareLinkDetailApi(APIView):
    @extend_schema(
        operation_id="share_links_destroy",
        tags=["share links"],
        summary="Revoke a share link (at once)",
        responses={
            204: OpenApiResponse(description="Revoked"),
            **errors({404: ["share_link_not_found"]}),
        },
    )
    def delete(self, request: SignedInRequest, link_id: str) -> Response:
        share_link_revoke(subject=request.user, link_id=link_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


def shared_headers(response):
    """A shared result's page or file: not indexed, no referrer sent onwards (the token is
    in the address), no copy in any cache."""
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response


class SharedResultApi(APIView):
    """Anyone with a link's token downloads the labelled result: no account."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
        operation_id="shared_result",
        tags=["share links"],
        summary="The labelled result a share link shows (one view)",
        responses={
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "video/mp4"): OpenApiResponse(OpenApiTypes.BINARY),
            **errors({404: ["share_link_gone"], 429: ["rate_limited"]}, signed_in=False),
        },
    )
    def get(self, request: Request, token: str) -> FileResponse:
        # mutant: delete — tests/swap/test_share_links.py
        #   test_views_are_limited_per_network_and_audited_without_the_address
        share_view_attempt_check(request)
        shared = share_link_open(token=token)
        response = FileResponse(
            io.BytesIO(shared.content),
            content_type=shared.media_type,
            as_attachment=True,
            filename=shared.filename,
        )
        return shared_headers(response)
