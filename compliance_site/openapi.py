"""OpenAPI (drf-spectacular): the one error body every 4xx answer has, and our token scheme.

Endpoints declare their errors with ``errors({status: [codes...]})`` in ``extend_schema``, so
the schema lists, per answer, the stable ``code`` values a client can branch on.
"""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers


class AutoSchema(openapi.AutoSchema):
    """Names a view's nested ``InputSerializer``/``OutputSerializer`` after the view (House
    style nests them in every view, so their bare names collide): ``OtpVerifyApi.Input`` →
    ``OtpVerifyInput``."""

    def get_serializer_name(self, serializer, direction) -> str:
        name = super().get_serializer_name(serializer, direction)
        owner, _, own = type(serializer).__qualname__.rpartition(".")
        if owner and "<locals>" not in owner:
            name = owner.rpartition(".")[2].removesuffix("Api") + own
        return name


class ApiErrorSerializer(serializers.Serializer):
    """The body of every error answer: a 4xx, or 503 while a service we need is down."""

    code = serializers.CharField(help_text="Stable reason, for programs: branch on this.")
    detail = serializers.CharField(help_text="For people, in the request's language.")
    # (assignment: a declared field leaves the class body, so it never shadows Serializer.fields.)
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="With code `invalid`: the messages for each input field.",
    )
    purpose = serializers.CharField(
        required=False,
        help_text="With `consent_required` or `consent_outdated`: the purpose to consent to.",
    )
    new_challenge_required = serializers.BooleanField(
        required=False, help_text="Captures: the challenge is used up; ask for a new one."
    )
    liveness = serializers.DictField(
        required=False, help_text="Captures: the liveness check's public scores."
    )
    field = serializers.CharField(
        required=False, help_text="With `upload_too_large`: the file that was too large."
    )
    max_bytes = serializers.IntegerField(
        required=False, help_text="With `upload_too_large`: the limit in bytes."
    )


_STATUS_TEXT = {
    400: "Bad request",
    401: "Not signed in",
    403: "Refused",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    415: "Not a media type this endpoint reads",
    422: "Not processable",
    429: "Too many requests (see `Retry-After`)",
    503: "Unavailable for a moment; try again",
}

# Every endpoint that needs a signed-in subject can answer these.
SIGNED_IN = {401: ["not_authenticated", "authentication_failed"]}


def errors(codes: dict[int, list[str]], *, signed_in: bool = True) -> dict[int, OpenApiResponse]:
    """``extend_schema(responses=...)`` entries for error answers, each listing its codes."""
    merged = {**(SIGNED_IN if signed_in else {}), **codes}
    return {
        status: OpenApiResponse(
            ApiErrorSerializer,
            description=f"{_STATUS_TEXT[status]}: " + ", ".join(f"`{c}`" for c in names),
        )
        for status, names in sorted(merged.items())
    }


# The 202 body of an endpoint that only says it accepted the request.
ACCEPTED = inline_serializer("Accepted", {"detail": serializers.CharField()})
# ``?lang=`` of the documents made for a person (report, certificate).
LANGUAGE_PARAMETER = OpenApiParameter(
    "lang", str, enum=["en", "zh-hans"], description="Language of the report; else Accept-Language."
)
