"""``Authorization: Token <key>`` for API clients, checked against stored SHA-256 digests."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from consent.identity.selectors import api_token_for_key


class TokenAuthentication(BaseAuthentication):
    """Hashed, expiring API tokens (``consent.identity.models.ApiToken``).

    Only the digest of a key is stored, so a copy of the database lets nobody sign in. A token
    stops working when it expires (``API_TOKEN_TTL``), at logout, or when its user is disabled.
    """

    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token header.")) from None
        token = api_token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class TokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes ``TokenAuthentication`` (defined with it, so it is
    registered whenever the class is in use)."""

    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`, the key from `POST /api/v1/auth/otp/verify`.",
        }
