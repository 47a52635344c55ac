"""Sign-in and consent with the keyboard alone (Tab, Enter, Space, and typing into fields):
every control is reachable in order, and the focused one is visibly outlined."""

from __future__ import annotations

import pytest

from consent.ledger.models import ConsentRecord
from tests.browser import flows

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("policies"),
]

_FOCUS_JS = """(selector) => {
  const el = document.activeElement;
  if (!el || !el.matches(selector)) return null;
  const style = getComputedStyle(el);
  return style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
}"""


def tab_to(portal, selector: str, *, limit: int = 60) -> None:
    """Press Tab until ``selector`` has the focus; it must show a visible focus outline."""
    for _ in range(limit):
        portal.page.keyboard.press("Tab")
        outlined = portal.page.evaluate(_FOCUS_JS, selector)
        if outlined is not None:
            assert outlined, f"{selector} has the focus but no visible outline"
            return
    raise AssertionError(f"{selector} cannot be reached with Tab on {portal.path()}")


def press(portal, key: str) -> None:
    with portal.page.expect_navigation():
        portal.page.keyboard.press(key)


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_a_person_signs_in_and_consents_with_the_keyboard_only(open_portal, viewport):
    portal = open_portal(viewport=viewport)
    portal.goto("/login/")

    portal.page.keyboard.press("Tab")
    assert portal.page.evaluate("document.activeElement.className") == "skip-link"
    portal.page.keyboard.press("Enter")
    assert portal.page.evaluate("document.activeElement.id") == "main"
    tab_to(portal, "#id_phone")
    portal.page.keyboard.type(flows.PHONE)
    press(portal, "Enter")
    assert portal.path() == "/login/verify/"

    tab_to(portal, "#id_code")
    portal.page.keyboard.type(flows.last_code())
    press(portal, "Enter")
    assert portal.path() == "/dashboard/"
    portal.step("keyboard-signed-in")

    tab_to(portal, "a[href='/consent/']")
    press(portal, "Enter")
    tab_to(portal, "#id_year_of_birth")  # the age step comes before any grant
    portal.page.keyboard.type("1990")
    press(portal, "Enter")
    tab_to(portal, "#purpose-biometric_enrolment form[action='/consent/grant/'] button")
    press(portal, "Space")
    assert portal.page.locator("#purpose-biometric_enrolment .state-granted").is_visible()
    portal.step("keyboard-consented")
    assert ConsentRecord.objects.get().purpose.code == "biometric_enrolment"

    tab_to(portal, ".language-switch button[value='zh-hans']")
    press(portal, "Space")
    assert portal.page.locator("html").get_attribute("lang") == "zh-hans"
    assert portal.path() == "/consent/"
    tab_to(portal, "#purpose-biometric_enrolment form[action='/consent/withdraw/'] button")
    press(portal, "Enter")
    tab_to(portal, "form[method='post'][action='/consent/withdraw/'] button")  # check, then go
    press(portal, "Enter")
    portal.language = "zh-hans"
    portal.step("keyboard-withdrawn-in-chinese")
    assert ConsentRecord.objects.count() == 2
