"""HTTP helpers shared by the portal views and the API."""

from __future__ import annotations

from django.http import HttpResponse


def attachment(body: bytes | str, content_type: str, filename: str) -> HttpResponse:
    """A download of personal data: named, and kept out of every shared cache."""
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def bad_request(request, exception=None) -> HttpResponse:
    """``handler400``, and the answer to a body we cannot read (middleware): under ``/api/``,
    JSON with a code like every API error, whatever Django refused (too many fields, too large
    a body, a host not allowed); elsewhere, the portal's 400 page."""
    from django.http import JsonResponse
    from django.views.defaults import bad_request as page

    if not request.path_info.startswith("/api/"):
        return page(request, exception)
    code, detail = _bad_request_reason(exception)
    return JsonResponse({"code": code, "detail": str(detail)}, status=400)


def _bad_request_reason(exception) -> tuple[str, str]:
    from django.core.exceptions import (
        DisallowedHost,
        RequestDataTooBig,
        TooManyFieldsSent,
        TooManyFilesSent,
    )
    from django.utils.translation import gettext

    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return "too_many_fields", gettext("The request has too many fields.")
    if isinstance(exception, RequestDataTooBig):
        return "request_too_large", gettext("The request is too large.")
    if isinstance(exception, DisallowedHost):
        return "disallowed_host", gettext("This site does not answer for that host.")
    if exception is None:  # the middleware: a charset or form body we do not read
        return "malformed_request", gettext("The request body cannot be read: send it in UTF-8.")
    return "malformed_request", gettext("The request is malformed.")
