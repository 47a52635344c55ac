from rest_framework.authentication import TokenAuthentication as _Placeholder


class TokenAuthentication(_Placeholder):
    """Replaced by the identity work: hashed, expiring API tokens."""
