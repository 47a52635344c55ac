"""The receipt and the erasure certificate page in Chromium, in both languages at 390 and 1280 px:
plain words on screen, the technical proof inside a closed disclosure that opens with the
keyboard, and no serious or critical axe-core violation with the disclosure closed or open."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.browser.portal import Portal, launch
from tests.browser.test_accessibility import _RUN_AXE, _axe_source
from tests.consent.test_plain_words import _grant

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("policies"),
]


def _session_of(portal: Portal, client: Client, language: str) -> None:
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    portal.page.context.add_cookies(
        [
            {"name": cookie.key, "value": cookie.value, "url": portal.base_url},
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": portal.base_url},
        ]
    )


def _proof_checked(portal: Portal, name: str, axe: str) -> dict:
    """The page as shown, then its proof opened with the keyboard; axe's findings of both."""
    proof = portal.page.locator("details.proof")
    assert proof.count() == 1 and proof.get_attribute("open") is None
    assert not portal.page.locator("details.proof .hash").first.is_visible()
    portal.step(name)
    portal.page.add_script_tag(content=axe)
    found = {name: portal.page.evaluate(_RUN_AXE)}
    portal.page.locator("details.proof summary").focus()
    portal.page.keyboard.press("Enter")
    assert portal.page.locator("details.proof .hash").first.is_visible()
    portal.step(f"{name}-proof")
    found[f"{name}-proof"] = portal.page.evaluate(_RUN_AXE)
    return found


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_receipt_and_the_certificate_show_plain_words_with_the_proof_one_click_away(
    playwright_driver, live_server, screenshots, alice, enrolled, _sms_outbox, language, width
):
    from tests.erasure.kit import portal_erase

    axe = _axe_source()
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(alice)
    record = _grant(client, "output_storage", language)
    browser = launch(playwright_driver)
    try:
        context = browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
        portal = Portal(
            context.new_page(), base_url=live_server.url, language="en", screenshots=screenshots
        )
        portal.language = language
        _session_of(portal, client, language)
        portal.goto(f"/consent/receipts/{record.receipt_id}/")
        found = _proof_checked(portal, "receipt", axe)
        enrolled(alice)
        assert portal_erase(client, _sms_outbox).status_code == 302
        _session_of(portal, client, language)
        portal.goto("/account/delete/status/")
        found |= _proof_checked(portal, "certificate", axe)
    finally:
        browser.close()

    assert {page: v for page, v in found.items() if v} == {}
