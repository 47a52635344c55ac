"""Nothing is destroyed in one tap: a double tap on "I consent" cannot withdraw, deleting a
capture or a swap goes through a page naming what goes, and erasing the account needs a fresh
code and typed words. In English on a phone and in Chinese on a desktop, a screenshot a step."""

from __future__ import annotations

import pytest

from biometrics.models import Capture
from consent.erasure.models import ErasureRequest
from consent.identity.models import User
from consent.ledger.gate import GRANTED, consent_state
from swap.models import SwapJob
from swap.services import swap_job_request
from tests.browser import flows
from tests.swap.jobkit import make_template

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("policies"),
]


def _submit(portal, selector: str) -> None:
    with portal.page.expect_navigation():
        portal.click(selector)


def _double_tap_consent(portal, purpose: str) -> None:
    portal.goto("/consent/")
    if portal.page.locator("#age form").count():
        portal.page.fill("#id_year_of_birth", "1990")
        _submit(portal, "#age form button[type=submit]")
    button = portal.page.locator(f"#purpose-{purpose} form[action='/consent/grant/'] button")
    button.dblclick()
    portal.page.wait_for_load_state("load")
    portal.page.wait_for_timeout(300)
    portal.step("consent-double-tapped")


@pytest.mark.parametrize(
    ("language", "viewport"), [("en", "phone"), ("zh-hans", "desktop")], ids=["en", "zh"]
)
def test_destroying_anything_asks_first_and_names_what_goes(
    open_portal, enrolled, grant_consent, monkeypatch, language, viewport
):
    monkeypatch.setattr("compliance_site.jobs._send", lambda kind, pk: None)  # stays waiting
    portal = open_portal(viewport=viewport, language=language)
    flows.sign_in(portal)
    user = User.objects.get(phone_number=flows.PHONE)

    # A double tap on "I consent" leaves the consent given: what took the button's place asks.
    _double_tap_consent(portal, "output_storage")
    assert consent_state(subject=user, purpose="output_storage") == GRANTED

    [capture] = enrolled(user)
    grant_consent(user, "face_swap")
    template = make_template(title="Licensed image")
    job = swap_job_request(subject=user, capture_id=capture.pk, template_id=template.pk)

    # The account page shows where the person stands: every step done, the swaps next.
    portal.goto("/dashboard/")
    assert portal.page.locator(".path-step[data-state=done]").count() == 3
    assert portal.page.locator("a.next-step[href='/swaps/']").is_visible()
    portal.step("dashboard-path")

    # A capture: the list links to a check page; "Keep it" keeps it.
    portal.goto("/captures/")
    portal.step("captures")
    _submit(portal, "section.capture a[href$='/delete/']")
    assert portal.page.locator("main form .button-danger").is_visible()
    portal.step("capture-delete-check")
    _submit(portal, "main form a.button-secondary")
    assert Capture.objects.filter(pk=capture.pk).exists()

    # A swap: the check names it; confirming cancels it.
    portal.goto("/swaps/")
    _submit(portal, f"#swap-{job.pk} a[href$='/delete/']")
    assert template.title in portal.text()
    portal.step("swap-delete-check")
    _submit(portal, "main form button.button-danger")
    assert not SwapJob.objects.filter(pk=job.pk, status=SwapJob.Status.PENDING).exists()

    # The account: what every store holds, then a fresh code and the typed words.
    portal.goto("/account/delete/")
    assert portal.page.locator("dt[data-store='biometrics.captures']").is_visible()
    portal.step("erase-check")
    _submit(portal, "main form input[name=step][value=send] ~ button[type=submit]")
    portal.step("erase-code-sent")
    with portal.expecting(400):
        portal.page.fill("#id_code", flows.last_code())
        portal.page.fill("#id_confirm", "ok")
        _submit(portal, "main form button.button-danger")
        assert portal.page.locator("#id_confirm").get_attribute("aria-invalid") == "true"
        portal.step("erase-words-missing")
    assert User.objects.get(pk=user.pk).is_active and not ErasureRequest.objects.exists()
    portal.page.fill("#id_confirm", portal.text(".typed-words"))
    _submit(portal, "main form button.button-danger")
    assert portal.path() == "/account/delete/status/"
    assert ErasureRequest.objects.exists()
