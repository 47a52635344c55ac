"""HTTP helpers shared by the portal views and the API."""

from __future__ import annotations

from django.http import HttpResponse


def attachment(body: bytes | str, content_type: str, filename: str) -> HttpResponse:
    """A download of personal data: named, and kept out of every shared cache."""
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
