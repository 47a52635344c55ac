"""A malformed JSON body is a 400 ``malformed_request`` on every API endpoint that takes one,
signed in or not: never a 500 (deep nesting once raised RecursionError), never a validation
answer about fields the body never had.

The endpoints are every operation of the served OpenAPI schema with a JSON request body, so a
new endpoint is covered the day it is added.
"""

from __future__ import annotations

import re
import uuid

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from consent.identity.models import User
from tests.consent.conftest import token_client

pytestmark = pytest.mark.django_db

# 2 KB of nesting, the attack as reported, and inside an object.
_DEEP_LIST = b"[" * 2000
_DEEP_IN_OBJECT = b'{"phone": ' + b"[" * 2000 + b"]" * 2000 + b"}"
MALFORMED: dict[str, bytes] = {
    "deep_nesting": _DEEP_LIST,
    "deep_nesting_in_object": _DEEP_IN_OBJECT,
    # Within the interpreter's recursion limit, but deeper than any of our bodies can be.
    "deep_but_balanced": b'{"phone": ' + b"[" * 100 + b"]" * 100 + b"}",
    "invalid_utf8": b'{"phone": "\xff\xfe\xfa"}',
    "truncated": b'{"phone": "+4474001',
    "not_json": b"phone=+447400100001",
    "list": b'["phone", "code"]',
    "string": b'"+447400100001"',
    "number": b"447400100001",
    "null": b"null",
    "nan": b'{"phone": NaN}',
}


def _json_body_operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                found.append((method.upper(), path))
    return sorted(found)


OPERATIONS = _json_body_operations()


def _concrete(path: str) -> str:
    """The schema's path with every ``{parameter}`` filled (the body is refused first)."""
    return re.sub(r"\{[^}]+\}", lambda m: str(uuid.uuid4()), path)


def test_the_schema_lists_the_sign_in_endpoints():
    """The parametrisation below found the endpoints of the reported attack."""
    assert ("POST", "/api/v1/auth/otp/request") in OPERATIONS
    assert ("POST", "/api/v1/auth/otp/verify") in OPERATIONS
    assert len(OPERATIONS) >= 5


@pytest.fixture
def signed_in(policies) -> APIClient:
    return token_client(User.objects.create_user(phone_number="+447400177777"))


@pytest.mark.parametrize("kind", sorted(MALFORMED))
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_a_malformed_body_is_a_400_malformed_request(signed_in, method, path, kind):
    response = signed_in.generic(
        method, _concrete(path), MALFORMED[kind], content_type="application/json"
    )

    assert response.status_code == 400, response.content[:200]
    assert response.json()["code"] == "malformed_request"
    assert response.json()["detail"]


@pytest.mark.parametrize("kind", ["deep_nesting", "invalid_utf8", "truncated", "list"])
@pytest.mark.parametrize("path", ["/api/v1/auth/otp/request", "/api/v1/auth/otp/verify"])
def test_anonymous_sign_in_endpoints_refuse_malformed_bodies(db, path, kind):
    response = APIClient().generic("POST", path, MALFORMED[kind], content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"


def _every_operation() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    )


@pytest.mark.parametrize(("method", "path"), _every_operation())
def test_no_endpoint_fails_on_a_deeply_nested_body(signed_in, method, path):
    """Endpoints that take no JSON body ignore one (or refuse its type); none answers 5xx."""
    response = signed_in.generic(
        method, _concrete(path), MALFORMED["deep_nesting"], content_type="application/json"
    )

    assert response.status_code < 500
