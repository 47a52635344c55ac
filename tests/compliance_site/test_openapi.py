"""The OpenAPI 3 schema (drf-spectacular): valid, warning-free, and complete — every endpoint
with its request, its answers and its error codes in the ``{"code", "detail"}`` shape."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

SCHEMA_URL = "/api/schema/"


@pytest.fixture(scope="module")
def schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_the_schema_command_validates_without_a_single_warning(tmp_path):
    out = tmp_path / "schema.json"

    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format",
        "openapi-json",
        "--file",
        str(out),
    )

    document = json.loads(out.read_text())
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Faceledger API"


def test_every_api_endpoint_is_in_the_schema(schema):
    from django.urls import get_resolver

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns, route)
            else:
                yield route

    routes = {r for r in walk(get_resolver().url_patterns) if r.startswith("api/v1/")}
    documented = {re.sub(r"\{[^}]+\}", "<>", path) for path in schema["paths"]}
    for route in routes:
        assert "/" + re.sub(r"<[^>]+>", "<>", route) in documented, route


def test_every_operation_declares_a_success_and_its_errors_with_the_error_schema(schema):
    error_ref = "#/components/schemas/ApiError"
    for path, method, operation in _operations(schema):
        name = f"{method.upper()} {path}"
        statuses = set(operation["responses"])
        assert any(s.startswith("2") for s in statuses), name
        assert operation.get("operationId") and operation.get("summary"), name
        for status, response in operation["responses"].items():
            if not status.startswith("4") and not status.startswith("5"):
                continue
            body = response["content"]["application/json"]["schema"]
            assert body == {"$ref": error_ref}, f"{name} {status}"
            assert re.search(r"`[a-z_]+`", response["description"]), f"{name} {status}"
        security = operation.get("security")
        if security is not None and {} not in security:  # a sign-in is needed
            assert "401" in statuses, f"{name} needs a sign-in but documents no 401"


def test_the_error_schema_has_code_and_detail(schema):
    error = schema["components"]["schemas"]["ApiError"]

    assert set(error["required"]) == {"code", "detail"}
    assert error["properties"]["code"]["type"] == "string"


def test_tokens_are_documented_as_the_authorization_header(schema):
    token = schema["components"]["securitySchemes"]["tokenAuth"]

    assert token == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": token["description"],
    }
    assert "Token <key>" in token["description"]


def test_multipart_uploads_and_binary_answers_are_described(schema):
    create = schema["paths"]["/api/v1/captures"]["post"]
    pdf = schema["paths"]["/api/v1/consents/receipts/{receipt_id}.pdf"]["get"]

    assert list(create["requestBody"]["content"]) == ["multipart/form-data"]
    assert "application/pdf" in pdf["responses"]["200"]["content"]


def test_the_schema_and_the_docs_are_served_from_our_own_files():
    client = Client()

    schema = client.get(SCHEMA_URL, HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")

    assert schema.status_code == 200
    assert schema.json()["paths"]["/api/v1/auth/otp/request"]["post"]["operationId"]
    html = docs.content.decode()
    assert docs.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "http://" not in html and "https://" not in html  # no CDN
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # no inline script
    assert script.status_code == 200
    assert SCHEMA_URL in script.content.decode()
