"""The DPO publishes a policy version through a preview: the diff in each language, the people
who will be asked again and the assessment, then "Publish" (in Chromium, through the real admin
sign-in, with a screenshot of the preview at 1280 px)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django_otp.oath import totp

from audit.actions import AuditAction
from audit.models import AuditEvent
from consent.ledger.models import PolicyVersion
from tests.browser.conftest import VIEWPORTS
from tests.browser.portal import launch
from tests.browser.test_accessibility import _RUN_AXE, _axe_source
from tests.factories import STAFF_PASSWORD, StaffFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("policies"),
]


def _admin_page(playwright_driver, live_server):
    browser = launch(playwright_driver)
    width, height = VIEWPORTS["desktop"]
    # The CSP forbids inline scripts: axe is injected past it, for the audit only.
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    dpo = StaffFactory()
    dpo.groups.add(Group.objects.get_or_create(name="dpo")[0])
    device = dpo.totp_device
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", str(dpo.phone_number))
    page.fill("#id_password", STAFF_PASSWORD)
    page.fill("#id_otp_token", f"{code:0{device.digits}d}")
    with page.expect_navigation():
        page.click("input[type=submit]")
    return browser, page


def test_the_dpo_sees_the_diff_and_who_is_asked_again_then_publishes_on_confirm(
    playwright_driver, live_server, screenshots, grant_consent
):
    for number in ("+447400100001", "+447400100002", "+447400100003"):
        grant_consent(UserFactory(phone_number=number), "output_storage")
    browser, page = _admin_page(playwright_driver, live_server)
    page.goto(f"{live_server.url}/admin/consent/policyversion/add/?purpose=output_storage")
    english = page.input_value("#id_text_en")
    page.fill("#id_text_en", english.replace("24 hours", "48 hours", 1))
    chinese = page.input_value("#id_text_zh_hans")
    page.fill("#id_text_zh_hans", chinese.replace("24 小时", "48 小时", 1))
    with page.expect_navigation():
        page.click("input[name=_preview]")

    page.screenshot(path=str(screenshots / "01-preview.png"), full_page=True)
    page.add_script_tag(content=_axe_source())
    assert page.evaluate(_RUN_AXE) == []  # no serious or critical violation
    assert page.inner_text("#policy-holders") == "3"
    assert "3 people hold consent to version 2" in page.inner_text("#content-main")
    for language in ("en", "zh-hans"):
        diff = page.locator(f'.policy-diff[data-language="{language}"]')
        # Read out as "[removed: 24]" "[added: 48]" (the brackets only for screen readers).
        assert diff.locator("del").first.text_content() == "[removed: 24]"
        assert diff.locator("ins").first.text_content() == "[added: 48]"
        # Marked by more than colour: struck through and underlined.
        assert "line-through" in diff.locator("del").first.evaluate(
            "el => getComputedStyle(el).textDecorationLine"
        )
        assert "underline" in diff.locator("ins").first.evaluate(
            "el => getComputedStyle(el).textDecorationLine"
        )
    assert PolicyVersion.objects.filter(purpose__code="output_storage").count() == 2

    with page.expect_navigation():
        page.click("input[name=_publish]")
    page.screenshot(path=str(screenshots / "02-published.png"), full_page=True)
    assert PolicyVersion.objects.filter(purpose__code="output_storage").count() == 3
    published = AuditEvent.objects.filter(action=AuditAction.POLICY_PUBLISHED)
    assert published.filter(purpose="output_storage").count() == 1
    browser.close()
