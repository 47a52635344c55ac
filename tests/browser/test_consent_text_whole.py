"""Consent texts are shown whole: no box that scrolls or cuts them, so the sentences on how long
data is kept and what erasure does are on the page, at 390 px and 1280 px, in both languages."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from consent.ledger.models import PolicyText, Purpose
from consent.ledger.policies import text_paragraphs

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("policies"),
]

# Each consent text on the page: how far its content reaches beyond its box, and its last line.
_TEXTS_JS = """
() => [...document.querySelectorAll(".policy-text")].map((el) => ({
  hidden: el.scrollHeight - el.clientHeight,
  wide: el.scrollWidth - el.clientWidth,
  overflow: getComputedStyle(el).overflowY,
  tabStop: el.tabIndex >= 0,
  last: el.lastElementChild ? el.lastElementChild.innerText : "",
}))
"""


def _signed_in(portal, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    portal.page.context.add_cookies(
        [{"name": cookie.key, "value": cookie.value, "url": portal.base_url}]
    )


@pytest.mark.parametrize("viewport", ["phone390", "desktop"])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("path", ["/consent/", "/privacy/"])
def test_every_consent_text_is_shown_whole_without_a_scroll_box(
    open_portal, alice, viewport, language, path
):
    portal = open_portal(viewport=viewport, language="en")
    _signed_in(portal, alice)
    portal.goto(path)
    portal.language = language
    portal.choose_language()
    portal.step(f"texts-{path.strip('/')}")

    texts = portal.page.evaluate(_TEXTS_JS)

    assert len(texts) == Purpose.objects.exclude(current_version=None).count()
    for text in texts:
        assert text["hidden"] <= 0 and text["wide"] <= 0, text
        assert text["overflow"] == "visible", text
        assert not text["tabStop"], text  # nothing to scroll: no stop for the keyboard
    # The last paragraph of each text (rights, erasure) is on the page, whole.
    shown = {" ".join(text["last"].split()) for text in texts}
    policies = PolicyText.objects.filter(
        language=language, policy__in=Purpose.objects.values("current_version")
    )
    assert shown == {" ".join(text_paragraphs(p.text)[-1].split()) for p in policies}
