"""The portal with the keyboard alone (Tab, Enter, Space, and typing into fields): sign-in,
consent, the camera's controls, a swap, and the confirmations before anything is withdrawn or
deleted. Every control is reachable in order, and every element that takes the focus on the way
is visibly outlined."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biometrics.models import Capture
from consent.erasure.models import ErasureRequest
from consent.ledger.gate import GRANTED, consent_state
from consent.ledger.models import ConsentRecord
from swap.models import SwapJob
from tests.browser import flows
from tests.browser.camera import write_camera_clip
from tests.swap.jobkit import make_template

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("policies"),
]

# The focused element: whether it matches, and whether its focus is outlined (by its own
# outline, or, for a radio inside a template card, the card's) in a colour that stands out
# from what surrounds it: a contrast of at least 3:1 (WCAG 2.2, 1.4.11 and 2.4.13).
_FOCUS_JS = """(selector) => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const rgb = (color) => (color.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const lin = (c) => (c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const behind = (node) => {
    for (let n = node.parentElement; n; n = n.parentElement) {
      const color = rgb(getComputedStyle(n).backgroundColor);
      if (color.length === 3 || color[3] > 0) return color;
    }
    return [255, 255, 255];
  };
  const contrast = (node) => {
    const style = getComputedStyle(node);
    if (style.outlineStyle === "none" || parseFloat(style.outlineWidth) < 2) return 0;
    const [a, b] = [luminance(rgb(style.outlineColor)), luminance(behind(node))];
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  };
  const card = el.closest("label.template-choice");
  return {
    matches: el.matches(selector),
    contrast: Math.max(contrast(el), card ? contrast(card) : 0),
    what: el.outerHTML.slice(0, 120),
  };
}"""


def tab_to(portal, selector: str, *, limit: int = 150) -> None:
    """Press Tab until ``selector`` has the focus; every element focused on the way (and it)
    must show a focus outline that stands out."""
    for _ in range(limit):
        portal.page.keyboard.press("Tab")
        focused = portal.page.evaluate(_FOCUS_JS, selector)
        if focused is None:
            continue
        where = f"{portal.path()}: {focused['what']}"
        assert focused["contrast"] >= 3, f"focus outline at {focused['contrast']:.2f}:1 on {where}"
        if focused["matches"]:
            return
    raise AssertionError(f"{selector} cannot be reached with Tab on {portal.path()}")


def press(portal, key: str) -> None:
    with portal.page.expect_navigation():
        portal.page.keyboard.press(key)


def sign_in(portal) -> None:
    """From the sign-in page: the number, Enter, the code from the text message, Enter."""
    tab_to(portal, "#id_phone")
    portal.page.keyboard.type(flows.PHONE)
    press(portal, "Enter")
    assert portal.path() == "/login/verify/"
    tab_to(portal, "#id_code")
    portal.page.keyboard.type(flows.last_code())
    press(portal, "Enter")
    assert portal.path() == "/dashboard/"


def follow(portal, selector: str) -> None:
    """Tab to a link or a button that leads to another page, and press Enter."""
    tab_to(portal, selector)
    press(portal, "Enter")


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_a_person_signs_in_and_consents_with_the_keyboard_only(open_portal, viewport):
    portal = open_portal(viewport=viewport)
    portal.goto("/login/")

    portal.page.keyboard.press("Tab")
    assert portal.page.evaluate("document.activeElement.className") == "skip-link"
    portal.page.keyboard.press("Enter")
    assert portal.page.evaluate("document.activeElement.id") == "main"
    sign_in(portal)
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


def test_a_person_enrols_swaps_and_deletes_everything_with_the_keyboard_only(open_portal, tmp_path):
    """The camera is worked with the keyboard (its Start button); Chromium's fake camera then
    plays the person doing the prompted movements."""
    camera = tmp_path / "camera.y4m"
    portal = open_portal(viewport="desktop", camera=camera)
    template = make_template("image", title="Licensed picture")
    portal.goto("/login/")
    sign_in(portal)

    follow(portal, "nav a[href='/consent/']")
    tab_to(portal, "#id_year_of_birth")
    portal.page.keyboard.type("1990")
    press(portal, "Enter")
    for purpose in ("biometric_enrolment", "face_swap"):
        follow(portal, f"#purpose-{purpose} form[action='/consent/grant/'] button")
    portal.step("keyboard-consents-given")

    # The camera: reach Start past the steps it asks for, and press it.
    follow(portal, "nav a[href='/captures/']")
    follow(portal, "main a[href='/capture/']")
    section = portal.page.locator("#camera")
    section.wait_for(state="visible")
    write_camera_clip(camera, json.loads(section.get_attribute("data-steps")))
    tab_to(portal, "#start")
    portal.step("keyboard-camera-start")
    portal.page.keyboard.press("Enter")
    portal.page.wait_for_url("**/captures/", timeout=60_000)
    assert Capture.objects.count() == 1

    # A swap: the capture and the template are radios (Space picks), then the button.
    follow(portal, "nav a[href='/swaps/']")
    tab_to(portal, f"input[name=template][value='{template.pk}']")
    portal.page.keyboard.press("Space")
    follow(portal, "form[action='/swaps/'] button[type=submit]")
    portal.page.locator("article.swap .result img").wait_for(timeout=60_000)
    portal.step("keyboard-swap-made")
    job = SwapJob.objects.get()
    assert job.status == SwapJob.Status.DONE

    # Deleting it: the check page, then its button.
    follow(portal, f"#swap-{job.pk} a[href$='/delete/']")
    portal.step("keyboard-swap-delete-check")
    follow(portal, "main form button.button-danger")
    assert not SwapJob.objects.filter(status=SwapJob.Status.DONE).exists()

    # The capture, the same way.
    follow(portal, "nav a[href='/captures/']")
    follow(portal, "section.capture a[href$='/delete/']")
    follow(portal, "main form button.button-danger")
    assert not Capture.objects.exists()

    # Withdrawing a consent: what it erases, then the button.
    follow(portal, "nav a[href='/consent/']")
    follow(portal, "#purpose-face_swap form[action='/consent/withdraw/'] button")
    portal.step("keyboard-withdraw-check")
    follow(portal, "form[method='post'][action='/consent/withdraw/'] button")
    user = ConsentRecord.objects.filter(purpose__code="face_swap").first().subject
    assert consent_state(subject=user, purpose="face_swap") != GRANTED

    # The account: a fresh code and the words typed, then the certificate, downloaded.
    follow(portal, "a.brand")
    follow(portal, "a[href='/account/delete/']")
    follow(portal, "main form input[name=step][value=send] ~ button[type=submit]")
    tab_to(portal, "#id_code")
    portal.page.keyboard.type(flows.last_code())
    tab_to(portal, "#id_confirm")
    portal.page.keyboard.type(portal.text(".typed-words"))
    portal.step("keyboard-erase-confirm")
    press(portal, "Enter")
    assert portal.path() == "/account/delete/status/"
    assert ErasureRequest.objects.exists()
    portal.page.locator("a[href$='certificate.json']").wait_for(timeout=60_000)
    tab_to(portal, "a[href$='certificate.json']")
    with portal.page.expect_download() as download:
        portal.page.keyboard.press("Enter")
    assert json.loads(Path(download.value.path()).read_text())["verified_empty"] is True
