"""axe-core on every page of the portal a person, a visitor or a staff member can reach, in both
languages at 390 and 1280 px: no serious or critical violation.

axe-core 4.12.1, the copy of the axe-core package (as published on npm) that the
axe-playwright-python package bundles; ``test_axe_is_the_version_named_here`` keeps this line
true when the package is upgraded. It is injected past the pages' CSP, for the audit only.

Each page is opened once per language and audited at both widths (the viewport resized in
place); one Chromium serves the whole module. ``test_every_portal_address_is_audited`` compares
the walk with the URL resolver, so a new page cannot be added without its audit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.browser.portal import Portal, launch

pytestmark = [pytest.mark.browser]

AXE_VERSION = "4.12.1"
WIDTHS = (390, 1280)
HEIGHT = 800

_RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}"""


def _axe_source() -> str:
    axe = pytest.importorskip("axe_playwright_python")
    return (Path(axe.__file__).parent / "axe.min.js").read_text()


# --- the walk ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """A page as someone reaches it: ``who`` opens ``path`` (its ``{placeholders}`` filled from
    the world), then ``then`` (if any) fills and sends a form; the page is audited as it then
    is. ``route`` is the URL pattern this covers ("" for a page reached by a form elsewhere)."""

    name: str
    route: str
    who: str
    path: str
    then: Callable[[Portal, dict], None] | None = None
    statuses: tuple[int, ...] = ()  # answers expected on purpose (an error page, a form error)


def _send(portal: Portal, selector: str = "main form button[type=submit]") -> None:
    with portal.page.expect_navigation():
        portal.click(selector)


def _phone_sent(portal: Portal, world: dict) -> None:
    portal.page.fill("#id_phone", world["visitor_phone"])
    _send(portal)


def _phone_refused(portal: Portal, world: dict) -> None:
    portal.page.fill("#id_phone", "12")
    _send(portal)


def _wrong_code(portal: Portal, world: dict) -> None:
    _phone_sent(portal, world)
    portal.page.fill("#id_code", "000000")
    _send(portal)


def _year_under_14(portal: Portal, world: dict) -> None:
    portal.page.fill("#id_year_of_birth", str(world["minor_birth_year"]))
    _send(portal, "#age form button[type=submit]")


def _guardian_asked(portal: Portal, world: dict) -> None:
    portal.page.locator("#guardian input[name=purpose]").first.check()
    portal.page.fill("#guardian-phone", world["guardian_phone"])
    _send(portal, "#guardian form button[type=submit]")


def _share_made(portal: Portal, world: dict) -> None:
    _send(portal, f"#swap-{world['image_job']} form.share-form button[type=submit]")


def _erase_code_sent(portal: Portal, world: dict) -> None:
    _send(portal, "main form input[name=step][value=send] ~ button[type=submit]")


def _mark_checked(portal: Portal, world: dict) -> None:
    portal.page.set_input_files("#id_file", world["result_file"])
    _send(portal)


def _bad_secret(portal: Portal, world: dict) -> None:
    portal.page.fill("main form input[name=secret]", "not-a-secret")
    _send(portal)


def _depicted_withdrawn(portal: Portal, world: dict) -> None:
    portal.page.fill("main form input[name=secret]", world["withdrawal_secret"])
    _send(portal)


VISITS = [
    # Anyone.
    Visit("sign-in", "login/", "visitor", "/login/"),
    Visit("sign-in-refused", "", "visitor", "/login/", _phone_refused, (400,)),
    Visit("code-entry", "login/verify/", "visitor", "/login/", _phone_sent),
    Visit("code-wrong", "", "visitor", "/login/", _wrong_code, (400,)),
    Visit("privacy", "privacy/", "visitor", "/privacy/"),
    Visit("retention", "retention/", "visitor", "/retention/"),
    Visit("transparency", "transparency/", "visitor", "/transparency/"),
    Visit("made-here", "made-here/", "visitor", "/made-here/"),
    Visit("made-here-answer", "", "visitor", "/made-here/", _mark_checked),
    Visit("depicted-withdraw", "depicted/withdraw/", "visitor", "/depicted/withdraw/"),
    Visit("depicted-refused", "", "visitor", "/depicted/withdraw/", _bad_secret, (400, 404)),
    Visit("depicted-withdrawn", "", "visitor", "/depicted/withdraw/", _depicted_withdrawn),
    Visit("share-viewer", "s/<str:token>/", "visitor", "/s/{share_token}/"),
    Visit("share-viewer-gone", "", "visitor", "/s/{gone_token}/", statuses=(404,)),
    Visit("not-found", "", "visitor", "/no-such-page/", statuses=(404,)),
    Visit("admin-sign-in", "admin/", "visitor", "/admin/login/"),
    # A person with a capture, an image and a clip result, a swap under way, a cancelled one.
    Visit("dashboard", "dashboard/", "person", "/dashboard/"),
    Visit("consent-centre", "consent/", "person", "/consent/?next=/swaps/"),
    Visit("withdraw-check", "consent/withdraw/", "person", "/consent/withdraw/?purpose=face_swap"),
    Visit(
        "receipt", "consent/receipts/<uuid:receipt_id>/", "person", "/consent/receipts/{receipt}/"
    ),
    Visit("capture", "capture/", "person", "/capture/"),
    Visit("captures", "captures/", "person", "/captures/"),
    Visit(
        "capture-delete-check",
        "captures/<str:capture_id>/delete/",
        "person",
        "/captures/{capture}/delete/",
    ),
    Visit("swaps", "swaps/", "person", "/swaps/"),
    Visit("share-link-made", "swaps/<str:job_id>/share/", "person", "/swaps/", _share_made),
    Visit(
        "swap-delete-check",
        "swaps/<str:job_id>/delete/",
        "person",
        "/swaps/{video_job}/delete/",
    ),
    Visit("swap-once", "swaps/once/", "person", "/swaps/once/"),
    Visit(
        "report-progress",
        "account/report/<uuid:job_id>/",
        "person",
        "/account/report/{report_pending}/",
    ),
    Visit("report-ready", "", "person", "/account/report/{report_done}/"),
    Visit("erase-check", "account/delete/", "person", "/account/delete/"),
    Visit("erase-confirm", "", "person", "/account/delete/", _erase_code_sent),
    # A child: the age step, then asking a parent or guardian.
    Visit("swap-once-no-consent", "", "minor", "/swaps/once/", statuses=(403,)),
    Visit("age-step", "", "minor", "/consent/"),
    Visit("guardian-ask", "", "minor", "/consent/", _year_under_14),
    Visit("guardian-code", "consent/guardian/", "minor", "/consent/", _guardian_asked),
    # After erasing an account: its progress, then the certificate.
    Visit("erasing", "account/delete/status/", "erasing", "/account/delete/status/"),
    Visit("erased", "", "erased", "/account/delete/status/"),
    # Staff.
    Visit("admin-index", "", "staff", "/admin/"),
    Visit("not-allowed", "", "staff", "/auditor/", statuses=(403,)),
    Visit("auditor", "auditor/", "auditor", "/auditor/"),
    Visit("admin-index-auditor", "", "auditor", "/admin/"),
]

# Addresses with no page of their own to audit, and why.
NOT_PAGES = {
    "": "redirects to the account page",
    "i18n/setlang/": "the language switch: a POST that redirects back",
    "logout/": "a POST that redirects to the sign-in page",
    "consent/grant/": "a POST that redirects to the consent centre (audited)",
    "consent/age/": "a POST that redirects to the consent centre (audited, age-step visits)",
    "consent/under-14/": "a POST that redirects to the consent centre",
    "consent/guardian/request/": "a POST that redirects to the guardian's page (audited)",
    "swaps/links/<str:link_id>/revoke/": "a POST that redirects to the swaps page",
    "account/report.pdf": "a download (or a redirect to the report's progress page)",
    "account/report/<uuid:job_id>/report.pdf": "a download",
    "account/export.json": "a download",
    "account/export.zip": "a download",
    "account/delete/certificate.json": "a download",
    "account/delete/certificate.pdf": "a download",
    "consent/receipts/<uuid:receipt_id>.json": "a download",
    "consent/receipts/<uuid:receipt_id>.pdf": "a download",
    "consent/receipts/<uuid:receipt_id>.27560.json": "a download",
    "transparency/verify_audit.py": "a download (the verifier)",
    "api/docs/": "the API's reference for developers, drawn by Swagger UI (not our markup)",
}


def portal_routes() -> set[str]:
    """Every URL pattern, as its route; the JSON API and the admin's own pages as prefixes."""

    def walk(patterns, prefix: str):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if pattern.app_name == "admin":
                    yield route
                else:
                    yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                yield route

    return {
        route
        for route in walk(get_resolver().url_patterns, "")
        if not route.startswith("api/") or route == "api/docs/"
    }


def test_every_portal_address_is_audited(settings):
    audited = {visit.route for visit in VISITS if visit.route}
    assert settings.ADMIN_URL == "admin/"
    assert portal_routes() - set(NOT_PAGES) == audited
    assert not audited & set(NOT_PAGES)


def test_axe_is_the_version_named_here():
    assert _axe_source().startswith(f"/*! axe v{AXE_VERSION}\n")


# --- one browser for the module ------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium():
    """One Chromium for every test here. Django's check for ORM calls next to a running event
    loop is off while it runs: the tests read the database only between browser steps."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as driver:
            browser = launch(driver)
            yield browser
            browser.close()
            connections.close_all()


@dataclass
class Audit:
    """Opens pages as the world's people in one tab and runs axe on them; axe comes with every
    document the tab loads (an init script, past the pages' CSP)."""

    page: object
    base_url: str
    language: str
    screenshots: Path
    cookies: dict[str, list[dict]]
    found: dict[str, list[str]] = field(default_factory=dict)
    who: str | None = None

    def open(self, visit: Visit, world: dict) -> Portal:
        if visit.who != self.who:
            self.page.context.clear_cookies()
            self.page.context.add_cookies(self.cookies[visit.who])
            self.who = visit.who
        self.page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT})
        portal = Portal(
            self.page, base_url=self.base_url, language=self.language, screenshots=self.screenshots
        )
        with portal.expecting(*visit.statuses):
            response = portal.goto(visit.path.format(**world))
            if visit.then is None:
                assert response.status in {200, *visit.statuses}, (visit.name, response.status)
            else:
                visit.then(portal, world)
        return portal

    def run(self, visit: Visit, world: dict) -> None:
        portal = self.open(visit, world)
        lang = portal.page.locator("html").get_attribute("lang")
        assert lang == self.language, f"{visit.name} is in {lang}"
        for width in WIDTHS:
            portal.page.set_viewport_size({"width": width, "height": HEIGHT})
            violations = portal.page.evaluate(_RUN_AXE)
            if violations:
                self.found[f"{visit.name} at {width} px ({portal.path()})"] = violations
                shot = self.screenshots / f"{visit.name}-{width}.png"
                portal.page.screenshot(path=str(shot), full_page=True)


def _session_cookies(client, base_url: str) -> list[dict]:
    return [{"name": n, "value": c.value, "url": base_url} for n, c in client.cookies.items()]


def build_world(enrolled, monkeypatch, language: str) -> tuple[dict, dict]:
    """Everyone the walk signs in as (their session cookies), and the ids its pages need; the
    person consented to the texts in ``language`` (their receipts are in it)."""
    from django.test import Client

    from consent.erasure.services import erasure_request
    from consent.erasure.views import _ERASURE_KEY
    from consent.identity.services import _role_group
    from consent.ledger.models import ConsentRecord, PolicyText, Purpose
    from consent.ledger.selectors import ClientEvidence
    from consent.ledger.services import consent_grant
    from consent.reports.services import report_job_request
    from swap.services import (
        share_link_create,
        swap_job_delete,
        swap_job_request,
        swap_result_open,
        swap_template_consent_secret_issue,
    )
    from tests.factories import StaffFactory, UserFactory, admin_signed_in
    from tests.swap.jobkit import make_template

    person = UserFactory(phone_number="+447400166601")
    for purpose in ("biometric_enrolment", "face_swap", "output_storage", "ephemeral_swap"):
        text = PolicyText.objects.get(
            policy=Purpose.objects.get(code=purpose).current_version, language=language
        )
        consent_grant(
            subject=person,
            purpose=purpose,
            version=text.policy.version,
            sha256=text.sha256,
            evidence=ClientEvidence(method=ConsentRecord.Method.PORTAL),
        )
    [capture] = enrolled(person)
    picture = make_template("image", title="Licensed picture", sharing=True)
    clip = make_template("video", title="Licensed clip")
    # Tasks run when the request commits (settings: eager): these two are made at once.
    image_job = swap_job_request(subject=person, capture_id=capture.pk, template_id=picture.pk)
    video_job = swap_job_request(subject=person, capture_id=capture.pk, template_id=clip.pk)
    _link, share_token = share_link_create(subject=person, job_id=image_job.pk)
    result = swap_result_open(subject=person, job_id=image_job.pk, download=False)
    report_done = report_job_request(subject=person, language="en", events=0)
    with monkeypatch.context() as patch:  # these stay waiting for a worker
        patch.setattr("compliance_site.jobs._send", lambda kind, pk: None)
        swap_job_request(subject=person, capture_id=capture.pk, template_id=picture.pk)
        cancelled = swap_job_request(subject=person, capture_id=capture.pk, template_id=picture.pk)
        swap_job_delete(subject=person, job_id=cancelled.pk)
        report_pending = report_job_request(subject=person, language="en", events=0)
        _erasing, erasing_token = erasure_request(subject=UserFactory())
    _erased, erased_token = erasure_request(subject=UserFactory())

    withdrawn = make_template("image", title="Picture to withdraw")
    secret = swap_template_consent_secret_issue(
        consent=withdrawn.depicted_consent, actor=None
    ).withdrawal_secret
    auditor = StaffFactory()
    auditor.groups.add(_role_group("auditor"))

    def signed_in(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def erasure_session(token: str) -> Client:
        client = Client()
        session = client.session
        session[_ERASURE_KEY] = token
        session.save()
        client.cookies["sessionid"] = session.session_key
        return client

    clients = {
        "visitor": Client(),
        "person": signed_in(person),
        "minor": signed_in(UserFactory(age_stated=False)),
        "erasing": erasure_session(erasing_token),
        "erased": erasure_session(erased_token),
        "staff": admin_signed_in(StaffFactory()),
        "auditor": admin_signed_in(auditor),
    }
    record = ConsentRecord.objects.filter(subject=person).order_by("id").first()
    result_file = {
        "name": "result.png",
        "mimeType": "image/png",
        "buffer": b"".join(result.content.chunks),
    }
    world = {
        "visitor_phone": "+447400166602",
        "minor_birth_year": date.today().year - 10,
        "guardian_phone": "+447400166603",
        "share_token": share_token,
        "gone_token": "A" * 43,
        "receipt": record.receipt_id,
        "capture": capture.pk,
        "image_job": image_job.pk,
        "video_job": video_job.pk,
        "report_done": report_done.pk,
        "report_pending": report_pending.pk,
        "result_file": result_file,
        "withdrawal_secret": secret,
    }
    return world, clients


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("policies")
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_portal_page_has_a_serious_or_critical_accessibility_violation(
    chromium, live_server, screenshots, enrolled, monkeypatch, language
):
    world, clients = build_world(enrolled, monkeypatch, language)
    context = chromium.new_context(
        locale="zh-CN" if language.startswith("zh") else "en-GB",
        bypass_csp=True,  # for axe's script only
    )
    context.set_default_timeout(15_000)
    context.add_init_script(_axe_source())
    audit = Audit(
        page=context.new_page(),
        base_url=live_server.url,
        language=language,
        screenshots=screenshots,
        cookies={who: _session_cookies(c, live_server.url) for who, c in clients.items()},
    )
    try:
        for visit in VISITS:
            audit.run(visit, world)
    finally:
        context.close()

    assert audit.found == {}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("policies")
def test_axe_catches_an_image_without_a_text_alternative(chromium, live_server):
    """The check sees what it should."""
    context = chromium.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/privacy/")
        page.add_script_tag(content=_axe_source())
        assert page.evaluate(_RUN_AXE) == []
        page.evaluate("document.querySelector('main').append(document.createElement('img'))")
        found = page.evaluate(_RUN_AXE)
    finally:
        context.close()
    assert any(re.match(r"image-alt \(critical\)", v) for v in found), found


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("policies")
def test_progress_pages_show_the_outcome_without_a_timed_refresh(
    chromium, live_server, screenshots, monkeypatch
):
    """A report being made and an account being erased: no meta refresh (it moves focus and
    the reading position every time); the page checks in the background and shows the outcome
    once the work has ended."""
    from django.test import Client

    from consent.erasure.services import erasure_request, erasure_run
    from consent.erasure.views import _ERASURE_KEY
    from consent.reports.services import report_job_request, report_job_run
    from tests.factories import UserFactory

    person = UserFactory()
    with monkeypatch.context() as patch:  # both wait until the test does the worker's part
        patch.setattr("compliance_site.jobs._send", lambda kind, pk: None)
        report = report_job_request(subject=person, language="en", events=0)
        erasure, token = erasure_request(subject=UserFactory())
    client = Client()
    client.force_login(person)
    session = Client().session
    session[_ERASURE_KEY] = token
    session.save()

    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        for cookie, path, run, ready in (
            (
                client.cookies["sessionid"].value,
                f"/account/report/{report.pk}/",
                lambda: report_job_run(job_id=report.pk),
                "main a.button[download]",
            ),
            (
                session.session_key,
                "/account/delete/status/",
                lambda: erasure_run(request_id=erasure.pk),
                "main a[href$='certificate.json']",
            ),
        ):
            context.clear_cookies()
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
            page.goto(live_server.url + path)
            assert page.locator("meta[http-equiv=refresh]").count() == 0
            assert page.locator("[data-refresh] [role=status]").is_visible()
            page.locator("main h1").focus()
            run()
            page.locator(ready).wait_for()
            page.screenshot(path=str(screenshots / f"{path.strip('/').replace('/', '-')}.png"))
    finally:
        context.close()
