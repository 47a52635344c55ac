"""The one place API errors become ``{"code": ..., "detail": ...}`` with a 4xx."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from compliance_site.errors import ApplicationError, RateLimited

_DRF_CODES = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "invalid",
}


# No body of ours nests deeper than a few levels; deeper is an attack on the parser or on
# whatever walks the result next.
MAX_JSON_DEPTH = 32


class JsonObjectParser(JSONParser):
    """The API's only JSON parser: a body is one JSON object, or the request is a 400
    ``malformed_request`` (ParseError). Deep nesting (RecursionError in the decoder),
    invalid UTF-8, truncated JSON and a top-level list, string, number or null all end
    here, before any view or serializer sees them."""

    def parse(self, stream, media_type=None, parser_context=None) -> dict:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_malformed()) from None
        except exceptions.ParseError:
            raise exceptions.ParseError(_malformed()) from None
        if not isinstance(data, dict) or _too_deep(data):
            raise exceptions.ParseError(_malformed())
        return data


def _malformed() -> str:
    return _("The request body is not a JSON object.")


def _too_deep(data: dict) -> bool:
    """Whether ``data`` nests deeper than ``MAX_JSON_DEPTH`` (walked without recursion)."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value)
    return False


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = _first_message(value)
            return message if key == "non_field_errors" else f"{key}: {message}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc, context):
    # Imported here: rest_framework.views builds APIView on import, which reads the parser
    # setting naming this module; imported at the top, a process whose first import is this
    # module (a test file run on its own) fails on the circular import.
    from rest_framework.views import set_rollback

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ApplicationError):
        set_rollback()
        body: dict[str, Any] = {"code": exc.code, "detail": exc.detail, **exc.extra}
        response = Response(body, status=exc.status_code)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response

    if isinstance(exc, exceptions.APIException):
        set_rollback()
        code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
        body = {"code": code, "detail": _first_message(exc.detail)}
        if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
            body["fields"] = exc.detail
        response = Response(body, status=exc.status_code)
        if wait := getattr(exc, "wait", None):  # Throttled
            response["Retry-After"] = str(int(wait) or 1)
        if auth_header := getattr(exc, "auth_header", None):  # NotAuthenticated, via the view
            response["WWW-Authenticate"] = auth_header
        return response
    return None


class AnyAcceptNegotiation(DefaultContentNegotiation):
    """For endpoints that answer with a file: whatever the client accepts (an ``<img>``'s
    ``Accept: image/*``, ``Accept: application/pdf``), the file is sent; only errors are JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            return renderers[0], renderers[0].media_type


def not_found(request, exception=None):
    """``handler404``: an address under ``/api/`` that matches no route (a malformed id in a
    path, say) answers like every API error, in JSON; elsewhere, the portal's 404 page."""
    from django.http import JsonResponse
    from django.utils.translation import gettext
    from django.views.defaults import page_not_found

    if request.path_info.startswith("/api/"):
        body = {"code": "not_found", "detail": gettext("Not found.")}
        return JsonResponse(body, status=404)
    return page_not_found(request, exception)


class StrictCharField(serializers.CharField):
    """Text only: a number, boolean or list is refused instead of being turned into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: "1", 1.0 and true are refused instead of being converted."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)
