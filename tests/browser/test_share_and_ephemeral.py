"""A first-time user swaps once without enrolling (the fake camera performs the challenge),
shares the result with a link (copy button), a stranger opens it on a phone 390 px wide without
an account and downloads the labelled file, and the owner revokes it: in English and Chinese."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from biometrics.models import Capture
from consent.identity.models import User
from swap.models import ShareLink, SwapJob
from tests.browser import flows
from tests.browser.camera import write_camera_clip
from tests.browser.portal import SCREENSHOTS
from tests.swap.jobkit import make_template

IPTC_AI = b"compositeWithTrainedAlgorithmicMedia"
# The share viewer on a phone, kept where the closing note can point at it.
VIEWER_SHOT = SCREENSHOTS / "share-viewer-390px-{language}.png"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("policies"),
]


def swap_once(portal, camera: Path, template_title: str) -> None:
    """From /swaps/ with no capture: the default path, the camera, the result."""
    portal.goto("/swaps/")
    portal.step("swaps-first-time")
    portal.click("#swap-once")
    assert portal.path() == "/swaps/once/"
    section = portal.page.locator("#camera")
    section.wait_for(state="visible")
    write_camera_clip(camera, json.loads(section.get_attribute("data-steps")))
    portal.page.locator("label.template-choice", has_text=template_title).click()
    portal.step("swap-once")
    portal.click("#start")
    try:
        portal.page.wait_for_url("**/swaps/", timeout=90_000)
    except Exception as exc:
        raise AssertionError(f"the swap was not made: {portal.text('#status')!r}") from exc
    portal.page.locator("article.swap .result img").wait_for()
    portal.step("swap-once-result")


def share(portal) -> str:
    """Make a link with the defaults (24 hours, no view limit) and copy it; returns it."""
    portal.click("article.swap form.share-form button[type=submit]")
    field = portal.page.locator("input.share-url")
    field.wait_for()
    portal.click("button.copy-link")
    portal.page.locator("button.copy-link").filter(has_text=re.compile(r"Copied|已复制")).wait_for()
    portal.step("share-link-made")
    return field.input_value()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_first_time_user_swaps_once_shares_it_and_revokes_the_link(
    open_portal, tmp_path, language
):
    camera = tmp_path / "camera.y4m"
    portal = open_portal(viewport="phone", language=language, camera=camera)
    template = make_template("image", title="Licensed picture", sharing=True)

    flows.sign_in(portal)
    user = User.objects.get(phone_number=flows.PHONE)
    flows.grant(portal, "ephemeral_swap")
    swap_once(portal, camera, template.title)
    job = SwapJob.objects.get(subject=user)
    assert job.ephemeral and job.capture_id is None
    assert not Capture.objects.exists()

    url = share(portal)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/s/[A-Za-z0-9_-]{43}/", url)

    stranger = open_portal(viewport="phone390", language=language)
    stranger.page.goto(url)
    stranger.page.locator(".shared .result img").wait_for()
    assert stranger.page.locator(".ai-label").is_visible()
    shot = stranger.step("share-viewer")
    shutil.copyfile(shot, str(VIEWER_SHOT).format(language=language))
    assert (
        stranger.page.locator('meta[name="robots"]').get_attribute("content").startswith("noindex")
    )
    with stranger.page.expect_download() as download:
        stranger.click(".shared a[download]")
    labelled = Path(download.value.path()).read_bytes()
    assert labelled.startswith(b"\x89PNG") and IPTC_AI in labelled
    assert ShareLink.objects.get().views == 1

    portal.goto("/swaps/")
    portal.click("ul.share-links form button[type=submit]")
    assert not ShareLink.objects.exists()
    portal.step("share-link-revoked")
    with stranger.expecting(404):
        stranger.page.goto(url)
        assert stranger.page.locator(".shared").count() == 0
        stranger.step("share-viewer-gone")
