"""Who may call what: every URL pattern of the project, classified in ONE table, and checked
against each role (anonymous, the owner, another subject, support, dpo, auditor).

A new URL that is not in ``MATRIX`` (or ``ADMIN_PATTERNS``) fails the first test: classify it.
Staff sessions here are verified by the admin's TOTP sign-in (the strongest staff session);
the admin's own checks also try password-only staff sessions.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.hardening.world import ROLES, build_world

pytestmark = pytest.mark.django_db

A, O, X, S, D, U = ROLES  # noqa: E741 - anonymous, owner, other, support, dpo, auditor
# The owner acts last, so that a destructive request does not change what the others see.
ORDER = (A, X, S, D, U, O)


def every(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def signed_in(status: int, *, anonymous: int) -> dict[str, int]:
    return {**every(status), A: anonymous}


def owner_only(status: int, *, anonymous: int, others: int) -> dict[str, int]:
    return {**every(others), A: anonymous, O: status}


# url name → (method, path kwargs, expected status per role). Path kwargs name attributes of the
# world (tests.hardening.world.World). Destructive rows come last (the owner acts last).
RECEIPT = {"receipt_id": "receipt_id"}
ERASURE = {"token": "erasure_token"}
REPORT = {"job_id": "report_job_id"}
CAPTURE = {"capture_id": "capture_id"}
TEMPLATE = {"template_id": "template_id"}
JOB = {"job_id": "job_id"}
PURPOSE = {"purpose": "purpose"}
MATRIX: dict[str, tuple[str, dict, dict[str, int]]] = {
    "home": ("GET", {}, every(302)),
    "api-schema": ("GET", {}, every(200)),
    "api-health": ("GET", {}, every(200)),
    "api-docs": ("GET", {}, every(200)),
    "audit-api:checkpoint": ("GET", {}, every(200)),
    "audit-api:checkpoint-note": ("GET", {}, every(200)),
    "audit-api:public-key": ("GET", {}, every(200)),
    "audit-api:keys": ("GET", {}, every(200)),
    "audit-api:inclusion-proof": ("GET", {}, every(400)),
    "audit-api:consistency-proof": ("GET", {}, every(400)),
    "audit-api:export": ("GET", {}, {A: 403, O: 403, X: 403, S: 403, D: 403, U: 200}),
    "api-otp-request": ("POST", {}, every(415)),
    "api-otp-verify": ("POST", {}, every(415)),
    "api-purposes": ("GET", {}, every(200)),
    "api-consents": ("GET", {}, signed_in(200, anonymous=401)),
    "api-consent-withdrawal-preview": (
        "GET",
        PURPOSE,
        {A: 401, O: 200, X: 200, S: 409, D: 409, U: 409},
    ),
    "api-consent-receipt-pdf": ("GET", RECEIPT, owner_only(200, anonymous=401, others=404)),
    "api-consent-receipt": ("GET", RECEIPT, owner_only(200, anonymous=401, others=404)),
    "api-consent-record-27560": ("GET", RECEIPT, owner_only(200, anonymous=401, others=404)),
    "api-consent-guardian-request": ("POST", {}, signed_in(415, anonymous=401)),
    "api-consent-age": ("POST", {}, signed_in(415, anonymous=401)),
    "api-consent-guardian-grant": ("POST", {}, signed_in(415, anonymous=401)),
    "api-erasure-status": ("GET", ERASURE, every(200)),
    "api-erasure-certificate-pdf": ("GET", ERASURE, every(200)),
    "api-report": ("GET", {}, signed_in(200, anonymous=401)),
    "api-report-job": ("GET", REPORT, owner_only(200, anonymous=401, others=404)),
    "api-report-download": ("GET", REPORT, owner_only(200, anonymous=401, others=404)),
    "api-export-json": ("GET", {}, signed_in(200, anonymous=401)),
    "api-export-zip": ("GET", {}, signed_in(200, anonymous=401)),
    "api-export-schema": ("GET", {}, every(200)),
    "api-liveness-challenge": ("GET", {}, {A: 401, O: 200, X: 200, S: 403, D: 403, U: 403}),
    "api-captures": ("GET", {}, signed_in(200, anonymous=401)),
    "api-capture": ("GET", CAPTURE, owner_only(200, anonymous=401, others=404)),
    "api-templates": ("GET", {}, signed_in(200, anonymous=401)),
    "api-template-poster": ("GET", TEMPLATE, signed_in(200, anonymous=401)),
    "api-swaps": ("GET", {}, signed_in(200, anonymous=401)),
    "api-swap-notices": ("GET", {}, signed_in(200, anonymous=401)),
    # The depicted person's withdrawal: public, the secret is the only credential.
    "api-depicted-withdrawals": ("POST", {}, every(415)),
    "swap:depicted_withdraw": ("GET", {}, every(200)),
    # "Was this made here?": public, answers only whether and when.
    "api-mark-check": ("POST", {}, every(400)),
    "swap:mark_check": ("GET", {}, every(200)),
    "api-swap": ("GET", JOB, owner_only(200, anonymous=401, others=404)),
    "api-swap-result": ("GET", JOB, owner_only(200, anonymous=401, others=404)),
    # Swaps without enrolment: nobody here holds ephemeral_swap consent; the gate answers.
    "api-ephemeral-challenge": ("GET", {}, {**every(403), A: 401}),
    "api-ephemeral-swaps": ("POST", {}, {**every(403), A: 401}),
    "swap:ephemeral": ("GET", {}, {**every(403), A: 302}),
    # Share links: the owner's list; the viewer is public, the token its only credential.
    "api-share-links": ("GET", JOB, owner_only(200, anonymous=401, others=404)),
    "api-shared": ("GET", {"token": "absent_token"}, every(404)),
    "swap:shared": ("GET", {"token": "absent_token"}, every(404)),
    "swap:shared_file": ("GET", {"token": "absent_token"}, every(404)),
    "set_language": ("POST", {}, every(302)),
    "consent:login": ("GET", {}, signed_in(302, anonymous=200)),
    "consent:login_verify": ("GET", {}, every(302)),
    "consent:dashboard": ("GET", {}, signed_in(200, anonymous=302)),
    "consent:centre": ("GET", {}, signed_in(200, anonymous=302)),
    "consent:grant": ("POST", {}, signed_in(400, anonymous=302)),
    "consent:minor_declaration": ("GET", {}, signed_in(405, anonymous=302)),
    "consent:age": ("GET", {}, signed_in(405, anonymous=302)),
    "consent:guardian_request": ("GET", {}, signed_in(405, anonymous=302)),
    "consent:guardian": ("GET", {}, every(302)),
    "consent:receipt": ("GET", RECEIPT, owner_only(200, anonymous=302, others=404)),
    "consent:receipt_json": ("GET", RECEIPT, owner_only(200, anonymous=302, others=404)),
    "consent:receipt_pdf": ("GET", RECEIPT, owner_only(200, anonymous=302, others=404)),
    "consent:record_27560": ("GET", RECEIPT, owner_only(200, anonymous=302, others=404)),
    "consent:privacy": ("GET", {}, every(200)),
    "consent:account_delete": ("GET", {}, signed_in(200, anonymous=302)),
    "consent:account_delete_status": ("GET", {}, every(404)),
    "consent:account_delete_certificate": ("GET", {}, every(404)),
    "consent:account_delete_certificate_pdf": ("GET", {}, every(404)),
    "consent:report": ("GET", {}, signed_in(200, anonymous=302)),
    "consent:report_status": ("GET", REPORT, owner_only(200, anonymous=302, others=404)),
    "consent:report_download": ("GET", REPORT, owner_only(200, anonymous=302, others=302)),
    "consent:export_json": ("GET", {}, signed_in(200, anonymous=302)),
    "consent:export_zip": ("GET", {}, signed_in(200, anonymous=302)),
    "audit:auditor": ("GET", {}, {A: 302, O: 302, X: 302, S: 403, D: 403, U: 200}),
    "audit:transparency": ("GET", {}, every(200)),
    "audit:verifier": ("GET", {}, every(200)),
    "biometrics:capture": ("GET", {}, {A: 302, O: 200, X: 200, S: 403, D: 403, U: 403}),
    "biometrics:captures": ("GET", {}, signed_in(200, anonymous=302)),
    "biometrics:retention": ("GET", {}, every(200)),
    "swap:swaps": ("GET", {}, signed_in(200, anonymous=302)),
    # destructive: the owner's request comes last in each row, and these rows come last
    "api-consents@POST": ("POST", {}, signed_in(415, anonymous=401)),
    # Staff hold no biometric consent: the gate answers before the (empty) body is read.
    "api-captures@POST": ("POST", {}, {A: 401, O: 400, X: 400, S: 403, D: 403, U: 403}),
    "api-swaps@POST": ("POST", {}, signed_in(415, anonymous=401)),
    "api-swap@DELETE": ("DELETE", JOB, owner_only(204, anonymous=401, others=404)),
    "swap:swap_delete": ("POST", {"job_id": "spare_job_id"}, every(302)),
    # No form: refused before the service (a message and back to /swaps/), for everyone.
    "swap:share_create": ("POST", JOB, every(302)),
    "swap:share_revoke": ("POST", {"link_id": "absent_link_id"}, every(302)),
    "api-share-link@DELETE": (
        "DELETE",
        {"link_id": "absent_link_id"},
        signed_in(404, anonymous=401),
    ),
    "api-capture@DELETE": ("DELETE", CAPTURE, owner_only(204, anonymous=401, others=404)),
    "biometrics:capture_delete": ("POST", {"capture_id": "spare_capture_id"}, every(302)),
    "consent:withdraw": ("POST", {}, signed_in(400, anonymous=302)),
    "api-consent-withdraw": ("DELETE", PURPOSE, {A: 401, O: 200, X: 200, S: 409, D: 409, U: 409}),
    "api-consent-minor-declaration": ("POST", {}, signed_in(201, anonymous=401)),
    "api-logout": ("POST", {}, signed_in(204, anonymous=401)),
    "consent:logout": ("POST", {}, every(302)),
    # API tokens only: a portal session must go through /account/delete/ (a fresh code).
    "api-erasure": ("POST", {}, every(401)),
}

# The admin site's patterns (one per model and view) are classified together; the admin's
# index and one changelist are checked per role below.
ADMIN_NAMESPACE = "otpadmin"


def pattern_names(patterns=None, prefix: str = "") -> list[str]:
    """Every URL pattern's full name (``namespace:name``), or its route where it has none."""
    names = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            space = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            names += pattern_names(entry.url_patterns, space)
        elif isinstance(entry, URLPattern):
            names.append(f"{prefix}{entry.name}" if entry.name else f"{prefix}<{entry.pattern}>")
    return names


@pytest.fixture
def world(enrolled, grant_consent):
    return build_world(enrolled=enrolled, grant_consent=grant_consent)


def _path(name: str, kwargs: dict, world) -> str:
    return reverse(name, kwargs={k: getattr(world, v) for k, v in kwargs.items()})


def _call(world, role: str, method: str, path: str) -> int:
    client = world.client(role)
    return getattr(client, method.lower())(path).status_code


def test_every_url_pattern_is_classified():
    unclassified = [
        name
        for name in pattern_names()
        if name not in {key.split("@")[0] for key in MATRIX}
        and not name.startswith(f"{ADMIN_NAMESPACE}:")
    ]
    assert unclassified == [], "classify these URLs in MATRIX"


def test_every_url_answers_each_role_as_the_table_says(world):
    observed = {}
    for key, (method, kwargs, _expected) in MATRIX.items():
        path = _path(key.split("@")[0], kwargs, world)
        observed[key] = {role: _call(world, role, method, path) for role in ORDER}
    import pprint

    pprint.pprint(observed, sort_dicts=False, width=200)
    assert observed == {key: expected for key, (_m, _k, expected) in MATRIX.items()}


# The admin: the index and the subject list, for each role, with a TOTP-verified staff session
# and with a password-only one (as after a stolen password: no second factor).
ADMIN_PAGES = (
    "otpadmin:index",
    "otpadmin:consent_user_changelist",
    "otpadmin:swap_swapjob_changelist",
)
NO_ADMIN = every(302)  # sent to the admin's sign-in (password + TOTP)
ADMIN_MATRIX: dict[tuple[str, bool], dict[str, int]] = {
    # the auditor, shown nothing there, is sent on to /auditor/
    ("otpadmin:index", True): {**NO_ADMIN, S: 200, D: 200, U: 302},
    ("otpadmin:index", False): NO_ADMIN,
    # support and dpo see the subject list (masked numbers); the auditor has nothing in the admin
    ("otpadmin:consent_user_changelist", True): {**NO_ADMIN, S: 200, D: 200, U: 403},
    ("otpadmin:consent_user_changelist", False): NO_ADMIN,
    # no role sees swap jobs (they point at biometric data)
    ("otpadmin:swap_swapjob_changelist", True): {**NO_ADMIN, S: 403, D: 403, U: 403},
    ("otpadmin:swap_swapjob_changelist", False): NO_ADMIN,
}


def test_the_admin_answers_each_role_as_the_table_says(world):
    observed = {}
    for name in ADMIN_PAGES:
        for verified in (True, False):
            clients = {role: world.client(role, verified=verified) for role in ROLES}
            observed[(name, verified)] = {
                role: client.get(reverse(name)).status_code for role, client in clients.items()
            }
    assert observed == ADMIN_MATRIX


def test_other_people_cannot_delete_a_subjects_capture_or_swap_in_the_portal(world):
    from biometrics.models import Capture
    from swap.models import SwapJob

    targets = {
        reverse("swap:swap_delete", args=[world.job_id]): SwapJob.objects.filter(pk=world.job_id),
        reverse("biometrics:capture_delete", args=[world.capture_id]): Capture.objects.filter(
            pk=world.capture_id
        ),
    }
    for path, rows in targets.items():
        for role in ORDER[:-1]:
            world.client(role).post(path)
            assert rows.exists(), (path, role)
        world.client(O).post(path)
        assert not rows.exists(), path
