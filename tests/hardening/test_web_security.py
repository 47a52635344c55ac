"""Browser-facing defences: CSP without inline script, framing, referrer and permissions
policies, CSRF tokens in every portal form, session rotation at sign-in, production cookies and
HSTS, and the per-address limit on anonymous API calls."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from tests.compliance_site.test_settings import _manage, _production_env

pytestmark = pytest.mark.django_db

STRICT_SCRIPT = "script-src 'self';"


def _directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.parametrize("path", ["/login/", "/api/v1/purposes", "/transparency/", "/nope/"])
def test_every_response_carries_a_csp_without_inline_script(client, policies, path):
    response = client.get(path)

    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert policy["img-src"] == "'self' data: blob:"
    assert policy["media-src"] == "'self' blob:"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_camera_is_allowed_for_our_own_pages_only(client):
    features = dict(
        part.strip().split("=", 1)
        for part in client.get("/login/")["Permissions-Policy"].split(",")
    )
    assert features["camera"] == "(self)"
    assert features["microphone"] == "()"
    assert features["geolocation"] == "()"


def test_the_swagger_ui_runs_under_the_policy_with_only_inline_styles_relaxed(client):
    response = client.get("/api/docs/")
    html = response.content.decode()

    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"] == "'self'"  # scripts stay strict on this page too
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all("src=" in attrs for attrs in scripts), "no inline <script> allowed"
    for src in re.findall(r'<script src="([^"]+)"', html):
        if src.startswith("/static/"):
            assert finders.find(src.removeprefix("/static/")), src
        else:  # the split view's own initialiser, served by Django with the same policy
            script = client.get(src)
            assert script.status_code == 200
            assert "SwaggerUIBundle" in script.content.decode()


def test_the_relaxed_style_policy_applies_to_the_docs_path_only(client):
    assert "unsafe-inline" not in client.get("/api/schema/")["Content-Security-Policy"]
    assert "unsafe-inline" not in client.get("/login/")["Content-Security-Policy"]


# Portal pages with a form: each form that posts carries the CSRF token.
FORM_PAGES = {
    "consent:login": False,
    "consent:centre": True,
    "consent:account_delete": True,
    "biometrics:captures": True,
    "swap:swaps": True,
    "consent:dashboard": True,
}


@pytest.mark.parametrize("name", sorted(FORM_PAGES))
def test_every_portal_form_carries_a_csrf_token(name, alice, enrolled, grant_consent):
    enrolled(alice)
    grant_consent(alice, "face_swap")
    client = Client(enforce_csrf_checks=True)
    if FORM_PAGES[name]:
        client.force_login(alice)
    html = client.get(reverse(name)).content.decode()

    forms = re.findall(r"<form\b[^>]*>.*?</form>", html, flags=re.S | re.I)
    posting = [form for form in forms if re.search(r'method="post"', form, flags=re.I)]
    assert posting, f"{name} has no form that posts"
    for form in posting:
        assert 'name="csrfmiddlewaretoken"' in form


def test_a_post_without_the_csrf_token_is_refused(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    assert client.post(reverse("consent:logout")).status_code == 403


def test_signing_in_by_sms_code_gives_a_new_session_key(policies, _sms_outbox):
    client = Client()
    client.get("/login/")
    client.post("/login/", {"phone": "+447400100001"})
    before = client.session.session_key
    assert before, "the sign-in form keeps its state in a session"
    code = re.search(r"\b(\d{6})\b", _sms_outbox[-1].body).group(1)

    client.post("/login/verify/", {"code": code})

    assert "_auth_user_id" in client.session
    assert client.session.session_key != before


def test_anonymous_api_calls_are_limited_per_address(client, settings):
    settings.PUBLIC_API_RATE = "3/min"
    answers = [client.get("/api/v1/audit/public-key") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["code"] == "rate_limited"
    assert int(answers[-1]["Retry-After"]) >= 1
    # a forged X-Forwarded-For is not another address; a real other address has its own budget
    forged = client.get("/api/v1/audit/public-key", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert forged.status_code == 429
    assert client.get("/api/v1/audit/public-key", REMOTE_ADDR="127.0.0.9").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/me/erasure/not-a-real-token",
        "/api/v1/audit/proof/inclusion?index=0&tree_size=1",
        "/api/v1/audit/proof/consistency?first=1&second=1",
        "/api/v1/audit/checkpoint",
        "/api/v1/audit/log/checkpoint",
        "/api/v1/purposes",
    ],
)
def test_the_token_and_proof_endpoints_are_limited_too(client, settings, path):
    settings.PUBLIC_API_RATE = "2/min"
    statuses = [client.get(path).status_code for _ in range(3)]

    assert statuses[-1] == 429
    assert 429 not in statuses[:2]


def test_an_unmatched_api_address_answers_in_json_and_a_portal_one_in_html(client):
    api = client.get("/api/v1/consents/receipts/not-a-uuid")
    portal = client.get("/no-such-page/")

    assert api.status_code == 404 and api.json()["code"] == "not_found"
    assert portal.status_code == 404 and portal["Content-Type"].startswith("text/html")


_PROBE = """
import json
from django.conf import settings
from django.test import Client
r = Client().get("/api/v1/health", secure=True, HTTP_HOST="faceledger.example")
print(json.dumps({
    "hsts": r.get("Strict-Transport-Security"),
    "csp": r.get("Content-Security-Policy"),
    "redirect": Client().get("/api/v1/health", HTTP_HOST="faceledger.example").status_code,
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "session_name": settings.SESSION_COOKIE_NAME,
    "httponly": settings.SESSION_COOKIE_HTTPONLY,
}))
"""


def test_production_sends_hsts_and_marks_cookies_secure(tmp_path):
    result = _manage("shell", "-c", _PROBE, extra_env=_production_env(tmp_path))
    assert result.returncode == 0, result.stderr

    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert STRICT_SCRIPT in seen["csp"] + ";"
    assert seen["redirect"] == 301  # plain HTTP goes to HTTPS
    assert seen["session_secure"] and seen["csrf_secure"] and seen["httponly"]
    assert seen["session_name"].startswith("__Host-")
