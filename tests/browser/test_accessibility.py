"""axe-core (the copy bundled by the axe-playwright-python package) on the portal's pages in
both languages at 390 and 1280 px: no serious or critical violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from consent.identity.models import User
from tests.browser import flows
from tests.browser.portal import Portal, launch

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("policies"),
]

_RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}"""


def _axe_source() -> str:
    axe = pytest.importorskip("axe_playwright_python")
    return (Path(axe.__file__).parent / "axe.min.js").read_text()


PAGES = [
    "/dashboard/",
    "/consent/",
    "/captures/",
    "/swaps/",
    "/account/delete/",
    "/privacy/",
    "/retention/",
    "/transparency/",
    "/made-here/",
    "/depicted/withdraw/",
]


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_page_has_a_serious_or_critical_accessibility_violation(
    playwright_driver, live_server, screenshots, enrolled, grant_consent, language, width
):
    source = _axe_source()
    browser = launch(playwright_driver)
    try:
        # The CSP forbids inline scripts: axe is injected past it, for the audit only.
        context = browser.new_context(
            viewport={"width": width, "height": 800},
            locale="zh-CN" if language.startswith("zh") else "en-GB",
            bypass_csp=True,
        )
        portal = Portal(
            context.new_page(), base_url=live_server.url, language=language, screenshots=screenshots
        )
        portal.goto("/login/")
        portal.page.add_script_tag(content=source)
        found = {"/login/": portal.page.evaluate(_RUN_AXE)}
        flows.sign_in(portal)
        user = User.objects.get(phone_number=flows.PHONE)
        flows.grant(portal, "biometric_enrolment", "face_swap")
        [capture] = enrolled(user)
        for path in [*PAGES, f"/captures/{capture.pk}/delete/"]:
            portal.goto(path)
            portal.page.add_script_tag(content=source)
            found[path] = portal.page.evaluate(_RUN_AXE)
        # The check sees what it should: an image without a text alternative is caught.
        portal.page.evaluate("document.body.append(document.createElement('img'))")
        control = portal.page.evaluate(_RUN_AXE)
    finally:
        browser.close()

    assert {path: v for path, v in found.items() if v} == {}
    assert any(v.startswith("image-alt (critical)") for v in control), control
