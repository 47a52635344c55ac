"""Capture uploads: read into memory only, within hard caps, never onto disk.

Django's default upload handlers spill any file over ``FILE_UPLOAD_MAX_MEMORY_SIZE`` into a
temporary file: a liveness video would then sit in the temp folder for the whole request (and
after a crash, for good). The capture endpoints replace them with one memory-only handler that:

- refuses a request whose ``Content-Length`` is over the sum of the caps before reading a byte
  of the body (a 100 MB upload is answered without buffering it);
- accepts only the expected file fields, each up to its own cap, and stops reading at the cap;
- keeps each file in a ``BytesIO`` that goes away with the request.

Install it with ``use_capture_upload_handlers(request)`` before anything reads ``request.POST``
or ``request.FILES`` (CSRF checks do: see the views).
"""

from __future__ import annotations

import io

from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.request import Request

from compliance_site.errors import ApplicationError
from consent.identity.authentication import TokenAuthentication

MEGABYTE = 1024 * 1024
PHOTO_MAX_BYTES = 10 * MEGABYTE
VIDEO_MAX_BYTES = 20 * MEGABYTE
FILE_LIMITS = {"photo": PHOTO_MAX_BYTES, "video": VIDEO_MAX_BYTES}
# Multipart headers, boundaries and the small text fields (challenge id, CSRF token).
ENVELOPE_BYTES = 64 * 1024
MAX_REQUEST_BYTES = sum(FILE_LIMITS.values()) + ENVELOPE_BYTES


class UploadTooLarge(ApplicationError):
    status_code = 413
    code = "upload_too_large"


def _too_large(field: str, limit: int) -> UploadTooLarge:
    names = {"photo": _("The photo"), "video": _("The video"), "": _("The upload")}
    return UploadTooLarge(
        _("%(what)s is over %(size)d MB.") % {"what": names[field], "size": limit // MEGABYTE},
        extra={"field": field, "max_bytes": limit},
    )


def check_content_length(request: HttpRequest) -> None:
    """Refuse by the declared length, before the body is read."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApplicationError(_("Invalid Content-Length."), code="malformed_request") from None
    if declared > MAX_REQUEST_BYTES:
        raise _too_large("", MAX_REQUEST_BYTES)


class CappedMemoryUploadHandler(FileUploadHandler):
    """Each expected file into memory up to its cap; anything else refused (see module)."""

    def __init__(self, request: HttpRequest | None = None, limits: dict[str, int] | None = None):
        super().__init__(request)
        self.limits = dict(limits or FILE_LIMITS)
        self.seen: set[str] = set()
        self.buffer: io.BytesIO | None = None
        self.limit = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > MAX_REQUEST_BYTES:
            raise _too_large("", MAX_REQUEST_BYTES)
        return None  # parse as usual, through the methods below

    def new_file(self, field_name, *args, **kwargs) -> None:
        super().new_file(field_name, *args, **kwargs)
        if field_name not in self.limits or field_name in self.seen:
            raise ApplicationError(
                _("Unexpected file “%(field)s”: send one photo and one video.")
                % {"field": field_name[:32]},
                code="unexpected_file",
            )
        self.seen.add(field_name)
        self.limit = self.limits[field_name]
        self.buffer = io.BytesIO()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if start + len(raw_data) > self.limit:
            self.buffer = None
            raise _too_large(self.field_name, self.limit)
        assert self.buffer is not None
        self.buffer.write(raw_data)
        return None  # no other handler gets the bytes

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        assert self.buffer is not None
        self.buffer.seek(0)
        uploaded = InMemoryUploadedFile(
            file=self.buffer,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )
        self.buffer = None
        return uploaded


def use_capture_upload_handlers(request: HttpRequest) -> None:
    """Check the declared size and make the request parse uploads into memory only."""
    check_content_length(request)
    request.upload_handlers = [CappedMemoryUploadHandler(request)]


def upload_sender(request: Request):
    """Who sends an upload, from headers and cookies only, in DRF's order (token, then
    session), so that the gate can run before the body is read: the session's own DRF
    authentication would check CSRF, which reads the body."""
    by_token = TokenAuthentication().authenticate(request)
    if by_token is not None:
        return by_token[0]
    user = request._request.user  # the session's, from the middleware
    if user.is_authenticated and user.is_active:
        return user
    raise exceptions.NotAuthenticated()
