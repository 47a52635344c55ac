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
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.browser import test_tombstone, walk

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
    "s/<str:token>/file/": "a download: the shared result's picture or clip",
    # Swagger UI's markup, not ours: axe finds color-contrast, html-has-lang and
    # nested-interactive in it (tests/browser/test_pages.py checks it loads from our server).
    "api/docs/": "the API's reference for developers, drawn by Swagger UI",
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
    audited = {visit.route for visit in walk.VISITS if visit.route}
    assert settings.ADMIN_URL == "admin/"
    assert portal_routes() - set(NOT_PAGES) == audited
    assert not audited & set(NOT_PAGES)


def test_axe_is_the_version_named_here():
    assert _axe_source().startswith(f"/*! axe v{AXE_VERSION}\n")


# --- one browser for the module ------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium():
    with walk.one_browser() as browser:
        yield browser


def audit(walker: walk.Walker, visit: walk.Visit, world: dict) -> dict[str, list[str]]:
    """axe's serious and critical findings on the page, at each width (resized in place)."""
    portal = walker.open(visit, world, width=WIDTHS[0], height=HEIGHT)
    found = {}
    for width in WIDTHS:
        portal.page.set_viewport_size({"width": width, "height": HEIGHT})
        violations = portal.page.evaluate(_RUN_AXE)
        if violations:
            found[f"{visit.name} at {width} px ({portal.path()})"] = violations
            shot = walker.screenshots / f"{visit.name}-{width}.png"
            portal.page.screenshot(path=str(shot), full_page=True)
    return found


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("policies")
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_portal_page_has_a_serious_or_critical_accessibility_violation(
    chromium, live_server, screenshots, enrolled, monkeypatch, language
):
    found: dict[str, list[str]] = {}
    with walk.walking(
        chromium,
        live_server,
        screenshots,
        enrolled,
        monkeypatch,
        language,
        bypass_csp=True,  # for axe's script only
        init_script=_axe_source(),  # with every document the tab loads
    ) as (world, walker):
        for visit in walk.VISITS:
            found |= audit(walker, visit, world)

    assert found == {}


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


tombstone = test_tombstone.tombstone  # the wind-down's static pages, served over HTTP


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("policies")
def test_the_closed_service_and_its_tombstone_have_no_serious_or_critical_violation(
    chromium, live_server, tombstone
):
    """After a wind-down: the portal's banner saying so, and the tombstone's index and lookup
    page (a person's certificate found), in both languages at both widths."""
    _out, base, tokens = tombstone
    found = {}
    for language, suffix in (("en", ""), ("zh-hans", ".zh-hans")):
        context = chromium.new_context(
            locale="zh-CN" if language.startswith("zh") else "en-GB", bypass_csp=True
        )
        context.add_init_script(_axe_source())
        page = context.new_page()
        for url, ready in (
            (f"{live_server.url}/login/", ".closing-banner"),
            (f"{live_server.url}/privacy/", ".closing-banner"),
            (f"{base}/index{suffix}.html", "main"),
            (f"{base}/lookup{suffix}.html#{tokens[0]}", "#found"),
        ):
            page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT})
            page.goto(url)
            page.locator(ready).first.wait_for()
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": HEIGHT})
                if violations := page.evaluate(_RUN_AXE):
                    found[f"{url.split('#')[0]} at {width} px"] = violations
        context.close()

    assert found == {}
