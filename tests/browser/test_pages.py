"""The public pages and the error pages in both languages and at both sizes, switched with the
language buttons on each page; the interactive API docs load from our own server only."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("policies"),
]

PUBLIC = [
    ("/login/", "sign-in"),
    ("/privacy/", "privacy"),
    ("/retention/", "retention"),
    ("/transparency/", "transparency"),
]


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_public_and_error_pages_switch_language_in_place(open_portal, viewport):
    portal = open_portal(viewport=viewport)
    for path, name in PUBLIC:
        portal.language = "en"
        portal.goto(path)
        portal.step(name)
        portal.language = "zh-hans"
        portal.choose_language()
        assert portal.path() == path
        portal.step(f"{name}-zh")
        with portal.page.expect_navigation():
            portal.click(".language-switch button[value='en']")

    with portal.expecting(404):
        portal.language = "en"
        response = portal.goto("/no-such-page/")
        assert response.status == 404
        portal.step("not-found")
        portal.language = "zh-hans"
        portal.choose_language()
        assert portal.path() == "/no-such-page/"
        portal.step("not-found-zh")
    assert portal.page.locator("main a.button[href='/dashboard/']").is_visible()


def test_the_api_docs_work_from_our_own_server(open_portal, live_server):
    portal = open_portal(viewport="desktop")
    hosts = set()
    portal.page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))

    portal.goto("/api/docs/")
    portal.page.locator(".swagger-ui .opblock").first.wait_for()

    assert portal.page.locator(".swagger-ui .opblock").count() >= 20
    assert hosts == {urlsplit(live_server.url).netloc}
    assert not portal.problems
    portal.page.screenshot(path=str(portal.screenshots / "api-docs.png"))
