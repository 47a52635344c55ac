"""The portal's flows as a person goes through them, one function per flow. Each checks and
screenshots every page it passes (``Portal.step``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.browser.camera import write_camera_clip
from tests.browser.portal import Portal

# A UK mobile number no other test uses.
PHONE = "+447400166666"


def _submit(portal: Portal, selector: str) -> None:
    with portal.page.expect_navigation():
        portal.click(selector)


def last_code() -> str:
    from consent.identity import sms

    match = re.search(r"\b(\d{6})\b", sms.outbox[-1].body)
    assert match, sms.outbox[-1].body
    return match.group(1)


def sign_in(portal: Portal, phone: str = PHONE) -> None:
    """Phone number, a wrong code (the error says what to do), then the right code."""
    portal.goto("/")
    assert portal.path().startswith("/login/")
    portal.choose_language()
    portal.step("sign-in")
    portal.page.fill("#id_phone", phone)
    _submit(portal, "main form button[type=submit]")
    assert portal.path() == "/login/verify/"
    portal.step("code-sent")

    code = last_code()
    with portal.expecting(400):
        portal.page.fill("#id_code", f"{(int(code) + 1) % 1_000_000:06d}")
        _submit(portal, "main form button[type=submit]")
        assert portal.page.locator("#id_code").get_attribute("aria-invalid") == "true"
        assert portal.page.locator(".errors[role=alert]").is_visible()
        portal.step("wrong-code")

    portal.page.wait_for_timeout(1_200)  # wrong codes slow the next try down (1 s here)
    portal.page.fill("#id_code", code)
    _submit(portal, "main form button[type=submit]")
    assert portal.path() == "/dashboard/", portal.text()
    portal.step("account")


def grant(portal: Portal, *purposes: str) -> None:
    portal.goto("/consent/")
    if portal.page.locator("#age form").count():  # first the year of birth, nothing more
        portal.step("age-step")
        portal.page.fill("#id_year_of_birth", "1990")
        _submit(portal, "#age form button[type=submit]")
        assert not portal.page.locator("#age form").count()
    portal.step("consent-centre")
    for purpose in purposes:
        _submit(portal, f"#purpose-{purpose} form[action='/consent/grant/'] button")
        assert portal.page.locator(f"#purpose-{purpose} .state-granted").is_visible()
    portal.step("consents-given")
    _submit(portal, "#history .links a >> nth=0")
    assert portal.path().startswith("/consent/receipts/")
    portal.step("receipt")


def capture(portal: Portal, camera: Path) -> None:
    """Enrol with the (fake) camera: read the prompts, perform them, wait for the result."""
    portal.goto("/capture/")
    section = portal.page.locator("#camera")
    section.wait_for(state="visible")
    steps = json.loads(section.get_attribute("data-steps"))
    assert portal.page.locator("ol.steps li").count() == len(steps)
    write_camera_clip(camera, steps)
    portal.step("capture")

    portal.click("#start")
    portal.page.locator("#prompt").filter(has_text=re.compile(r"^1\. ")).wait_for()
    portal.step("capture-prompt")
    try:
        portal.page.wait_for_url("**/captures/", timeout=60_000)
    except Exception as exc:
        status = portal.text("#status")
        raise AssertionError(f"the capture did not go through: {status!r}") from exc
    assert portal.page.locator("section.capture").count() == 1
    portal.step("captures")


def delete_capture(portal: Portal) -> None:
    portal.goto("/captures/")
    before = portal.page.locator("section.capture").count()
    # "Check before you delete": the link leads to a page naming what goes; it deletes nothing.
    _submit(portal, "section.capture a[href$='/delete/']")
    assert portal.page.locator("main form[method='post'] .button-danger").is_visible()
    portal.step("capture-delete-check")
    _submit(portal, "main form[method='post'] button[type=submit]")
    assert portal.page.locator("section.capture").count() == before - 1
    assert portal.page.locator(".message-success").is_visible()
    portal.step("capture-deleted")


def withdraw(portal: Portal, purpose: str) -> None:
    portal.goto("/consent/")
    _submit(portal, f"#purpose-{purpose} form[action='/consent/withdraw/'] button")
    # "Check before you withdraw": what will be erased, then the button that withdraws.
    assert portal.page.locator("dt[data-store]").count() >= 1
    portal.step("consent-withdrawal-check")
    _submit(portal, "form[method='post'][action='/consent/withdraw/'] button")
    assert portal.page.locator(".message-success").is_visible()
    assert not portal.page.locator(f"#purpose-{purpose} .state-granted").count()
    portal.step("consent-withdrawn")


def erase_account(portal: Portal) -> dict:
    """Erase the account, watch the progress, download the certificate; returns it."""
    portal.goto("/dashboard/")
    _submit(portal, "a[href='/account/delete/']")
    assert portal.page.locator("dt[data-store]").count() >= 1  # what will be erased
    portal.step("erase-check")
    # A fresh code, then the code and the words shown, typed.
    _submit(portal, "main form input[name=step][value=send] ~ button[type=submit]")
    portal.step("erase-confirm")
    portal.page.fill("#id_code", last_code())
    portal.page.fill("#id_confirm", portal.text(".typed-words"))
    _submit(portal, "main form button.button-danger")
    assert portal.path() == "/account/delete/status/"
    portal.step("erasing")
    certificate_link = portal.page.locator("a[href$='certificate.json']")
    certificate_link.wait_for(timeout=60_000)
    portal.step("erased")
    with portal.page.expect_download() as download:
        certificate_link.click()
    return json.loads(Path(download.value.path()).read_text())


def swap(portal: Portal, template_title: str) -> bytes:
    """Pick a template, make the swap, watch its progress bar, preview and download the
    labelled result; returns the downloaded file."""
    portal.goto("/swaps/")
    portal.step("swaps")
    portal.page.locator("label.template-choice", has_text=template_title).click()
    _submit(portal, "form[action='/swaps/'] button[type=submit]")
    card = portal.page.locator("article.swap").first
    if card.get_attribute("data-status") in ("pending", "running"):
        assert card.locator("progress.swap-progress").is_visible()
        portal.step("swap-progress")
    finished = portal.page.locator("article.swap .result, article.swap .message").first
    finished.wait_for(timeout=60_000)  # the page reloads itself when the job ends
    assert not portal.page.locator("article.swap .message").count(), portal.text("article.swap")
    result = portal.page.locator("article.swap .result img, article.swap .result video").first
    _wait_until_loaded(portal, result)
    portal.step("swap-result")
    with portal.page.expect_download() as download:
        portal.click("article.swap a[download]")
    return Path(download.value.path()).read_bytes()


_LOADED_JS = (
    "el => el.tagName === 'VIDEO' ? el.readyState >= 1 : el.complete && el.naturalWidth > 0"
)


def _wait_until_loaded(portal: Portal, media, *, seconds: float = 15.0) -> None:
    """Until the image or video has loaded (polled from here: the page's CSP refuses the
    eval that Playwright's own wait_for_function would need)."""
    for _ in range(int(seconds * 10)):
        if media.evaluate(_LOADED_JS):
            return
        portal.page.wait_for_timeout(100)
    raise AssertionError(f"the result did not load: {media.get_attribute('src')}")


def download_report(portal: Portal, *, background: bool) -> bytes:
    """The user-data report from the account page: the PDF at once, or (a long history, made
    by the worker) a page that shows its progress and then offers the PDF."""
    portal.goto("/dashboard/")
    link = "a[href='/account/report.pdf']"
    if not background:
        with portal.page.expect_download() as download:
            portal.click(link)
        return Path(download.value.path()).read_bytes()
    _submit(portal, link)
    assert portal.path().startswith("/account/report/")
    portal.step("report-progress")
    ready = portal.page.locator("main a.button[download]")
    ready.wait_for(timeout=60_000)  # the page refreshes itself until the report is made
    portal.step("report-ready")
    with portal.page.expect_download() as download:
        ready.click()
    return Path(download.value.path()).read_bytes()
