"""The tombstone a wind-down leaves, served as plain files by a static server on 127.0.0.1: a
person follows the link from their text message (the token after ``#``) or types the token, and
the lookup page finds, shows and offers their certificate, in both languages, at phone size;
the printable report's first page is rendered for people to look at."""

from __future__ import annotations

import functools
import re
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command

from compliance_site.dates import date_text
from tests.browser.portal import launch
from tests.browser.text_check import VISIBLE_TEXT_JS, english_words
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tombstone(settings, tmp_path, enrolled, _sms_outbox):
    """Three people wound down; the tombstone served over HTTP; their tokens."""
    for _ in range(3):
        enrolled(UserFactory())
    settings.WIND_DOWN_GRACE_DAYS = 0
    settings.WIND_DOWN_TOMBSTONE_URL = "https://tombstone.example"
    out = tmp_path / "tombstone"
    _sms_outbox.clear()
    call_command("wind_down", out=out, confirm=settings.AUDIT_LOG_ID, interactive=False)
    tokens = [re.search(r"#(\S+)$", message.body).group(1) for message in _sms_outbox]
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield out, f"http://127.0.0.1:{server.server_port}", tokens
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class names it so
        pass


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_person_finds_and_downloads_their_certificate_on_the_tombstone(
    playwright_driver, tombstone, screenshots, language
):
    out, base, tokens = tombstone
    suffix = "" if language == "en" else ".zh-hans"
    browser = launch(playwright_driver)
    page = browser.new_context(viewport={"width": 360, "height": 740}).new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))

    # The link from the text message: the token after "#", which the page drops from the URL.
    page.goto(f"{base}/lookup{suffix}.html#{tokens[1]}")
    page.locator("#found").wait_for(state="visible")
    assert tokens[1] not in page.url
    shown = page.locator("[data-field=erasure_request]").inner_text()
    assert (out / "certificates").exists() and shown
    with page.expect_download() as download:
        page.click("#download")
    assert b'"verified_empty": true' in download.value.path().read_bytes()
    page.screenshot(path=screenshots / f"lookup-found-{language}.png", full_page=True)
    if language != "en":
        assert english_words(page.evaluate(VISIBLE_TEXT_JS)) == []

    assert errors == []
    # A mistyped token finds nothing, and says so (the browser logs the 404 it got).
    page.fill("#token", tokens[0][:-1] + ("A" if tokens[0][-1] != "A" else "B"))
    page.click("button[type=submit]")
    page.locator("#missing").wait_for(state="visible")
    assert page.locator("#found").is_hidden()
    page.screenshot(path=screenshots / f"lookup-missing-{language}.png", full_page=True)

    page.goto(f"{base}/index{suffix}.html")
    page.screenshot(path=screenshots / f"index-{language}.png", full_page=True)
    assert [error for error in errors if "404" not in error] == []
    browser.close()

    # The printable report's first page, as people see it.
    subprocess.run(  # noqa: S603 - poppler on our own file
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
         str(out / "wind-down-report.pdf"), str(screenshots / "report-page-1")],
        check=True,
        timeout=60,
    )  # fmt: skip
    assert (screenshots / "report-page-1.png").stat().st_size > 10_000


@pytest.mark.usefixtures("policies")
def test_every_page_carries_the_closing_banner_in_both_languages(open_portal):
    from consent.erasure.winddown import wind_down_start

    state = wind_down_start()
    portal = open_portal(viewport="phone")
    for path, name in (("/login/", "sign-in"), ("/privacy/", "privacy")):
        portal.language = "en"
        portal.goto(path)
        banner = portal.page.locator(".closing-banner").inner_text()
        assert "This service is closing" in banner
        assert date_text(state.grace_ends_at, language="en") in banner
        portal.step(f"closing-{name}")
        portal.language = "zh-hans"
        portal.choose_language()
        assert "本服务即将关闭" in portal.page.locator(".closing-banner").inner_text()
        portal.step(f"closing-{name}-zh")
        with portal.page.expect_navigation():
            portal.click(".language-switch button[value='en']")
