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
