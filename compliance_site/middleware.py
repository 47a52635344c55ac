import uuid

from django.conf import settings

from compliance_site import request_context


class RequestIdMiddleware:
    """Gives each request an id (kept from a well-formed ``X-Request-ID``) for audit events."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        try:
            request_id = str(uuid.UUID(incoming))
        except ValueError:
            request_id = str(uuid.uuid4())
        request.request_id = request_id
        token = request_context.request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_context.request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response (settings
    ``CONTENT_SECURITY_POLICY``, ``PERMISSIONS_POLICY``). No page of ours runs inline script;
    paths in ``CONTENT_SECURITY_POLICY_RELAXED`` (the Swagger UI, whose page carries an inline
    ``<style>`` and whose bundle sets style attributes) get their own policy."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = _policy(settings.CONTENT_SECURITY_POLICY)
        self.relaxed = {
            path: _policy({**settings.CONTENT_SECURITY_POLICY, **overrides})
            for path, overrides in settings.CONTENT_SECURITY_POLICY_RELAXED.items()
        }
        features = settings.PERMISSIONS_POLICY.items()
        self.permissions = ", ".join(f"{name}=({' '.join(allow)})" for name, allow in features)

    def __call__(self, request):
        response = self.get_response(request)
        policy = self.relaxed.get(request.path_info, self.policy)
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("Permissions-Policy", self.permissions)
        return response


def _policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


# The only character sets we read a body in (codecs' names, so "UTF8" and "us-ascii" match).
# Our pages are UTF-8 and JSON is UTF-8 by its RFC; latin-1 is refused too, as nothing of ours
# sends it and every byte "decodes" in it, so a body meant in another charset reads as wrong
# text instead of failing.
READABLE_CHARSETS = frozenset({"utf-8", "ascii"})
_FORM = "application/x-www-form-urlencoded"


class UnreadableBodyMiddleware:
    """A body in a character set we do not read, or a portal form body that does not decode as
    UTF-8, answers 400 here: before sessions, CSRF (whose failure page reads the body again and
    once crashed on UTF-16) and any view. JSON ``malformed_request`` under ``/api/``, our 400
    page elsewhere.

    The charset is judged from the header alone, before anything else runs. A form body is read
    to check it decodes only in ``process_view``, before CSRF's, and never for a view that
    checks CSRF itself (``csrf_exempt``): such a view (the portal's capture page) runs its
    consent gate before anything reads the body. API bodies are never read here: the consent
    gate comes first there too, and the API's JSON parser refuses what does not decode."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_body(request) and not _charset_acceptable(request):
            return _bad_request(request)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        reads_own_body = getattr(view_func, "csrf_exempt", False)
        if not _has_body(request) or reads_own_body or request.path_info.startswith("/api/"):
            return None
        if request.content_type == _FORM and not _form_decodes(request.body):
            return _bad_request(request)
        return None


def _has_body(request) -> bool:
    return request.method not in ("GET", "HEAD", "OPTIONS")


def _bad_request(request):
    from compliance_site.http import bad_request

    return bad_request(request, exception=None)


def _charset_acceptable(request) -> bool:
    charset = request.content_params.get("charset")
    return charset is None or _charset_readable(charset, form=request.content_type == _FORM)


def _charset_readable(charset: str, *, form: bool) -> bool:
    # Django reads a form only when its charset is literally "utf-8" (any case), and raises
    # BadRequest otherwise; other bodies in any name of UTF-8 or ASCII.
    if form:
        return charset.lower() == "utf-8"
    return _codec_name(charset) in READABLE_CHARSETS


def _codec_name(charset: str) -> str | None:
    import codecs

    try:
        return codecs.lookup(charset.strip().strip('"')).name
    except LookupError:
        return None


def _form_decodes(body: bytes) -> bool:
    """Every name and value, once percent-decoded, is UTF-8 (Django would silently replace
    what is not, so a form would be read as something the browser did not send)."""
    from urllib.parse import unquote_to_bytes

    try:
        for pair in body.split(b"&"):
            unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
