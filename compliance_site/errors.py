"""Domain errors. Every service raises these; one exception handler maps them to a 4xx."""

from __future__ import annotations


class ApplicationError(Exception):
    """A refusal the user can act on: ``code`` is stable, ``detail`` is for people."""

    status_code = 400
    code = "invalid"

    def __init__(self, detail: str, *, code: str | None = None, extra: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra or {}


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"


class Forbidden(ApplicationError):
    status_code = 403
    code = "forbidden"


class Unprocessable(ApplicationError):
    status_code = 422
    code = "unprocessable"


class RateLimited(ApplicationError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None):
        super().__init__(detail, code=code)
        self.retry_after = max(1, int(retry_after))


class ServiceUnavailable(ApplicationError):
    status_code = 503
    code = "service_unavailable"
