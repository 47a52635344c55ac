"""A clip's result as its owner sees it, at 390 and 1280 px, in English and in Chinese: the clip
plays with the player's controls shown, the mark burnt into every frame (in the page's language
as well as English) is clear of the control bar, and the HTML mark above the player is visible
with nothing over it.

Where the controls are: players draw their control bar over the bottom of the picture. We take
the bottom 15 % of the element as the area a player may cover, and never less than 72 px:
Chromium's buttons and timeline take about the bottom 60 px (seen on the screenshots), more than
15 % of a small player.
"""

from __future__ import annotations

import pytest

from consent.identity.models import User
from swap.engines.label import LABEL_TEXT, label_box, label_text
from swap.engines.video import iter_frames
from swap.models import SwapJob
from tests.browser import flows
from tests.browser.portal import SCREENSHOTS
from tests.swap.conftest import label_is_visible
from tests.swap.jobkit import make_template

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("policies"),
]

# The result on a phone, kept where the closing note can point at it (docs/images/ has copies).
LABEL_SHOT = SCREENSHOTS / "video-label-{}.png"
WIDTHS = {390: 844, 1280: 800}
CONTROLS_SHARE, CONTROLS_MIN_PX = 0.15, 72

# Plays the clip (muted: no gesture needed) to its end; the promise settles once it started.
_PLAY_JS = "el => { el.muted = true; return el.play().then(() => 'playing', (e) => String(e)); }"
_STATE_JS = """el => {
  const r = el.getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height, videoWidth: el.videoWidth,
          videoHeight: el.videoHeight, ended: el.ended, controls: el.controls,
          frames: el.getVideoPlaybackQuality().totalVideoFrames};
}"""
# What a tap at the element's centre reaches: "itself" when it is the element or inside it.
_ON_TOP_JS = """el => {
  const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
  if (hit === null) return "nothing (off screen)";
  return hit === el || el.contains(hit) ? "itself" : hit.outerHTML.slice(0, 120);
}"""


def mark_on_screen(state: dict, box: tuple[int, int, int, int]) -> dict:
    """The burnt-in mark's rectangle on the page: the picture is scaled to fit the element
    (``object-fit: contain``, the default) and centred in it."""
    scale = min(state["width"] / state["videoWidth"], state["height"] / state["videoHeight"])
    left = state["x"] + (state["width"] - state["videoWidth"] * scale) / 2
    top = state["y"] + (state["height"] - state["videoHeight"] * scale) / 2
    x0, y0, x1, y1 = box
    return {
        "left": left + x0 * scale,
        "top": top + y0 * scale,
        "right": left + x1 * scale,
        "bottom": top + y1 * scale,
    }


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_clip_result_shows_both_marks_clear_of_the_players_controls_at_390_and_1280_px(
    open_portal, worker, tmp_path, language
):
    camera = tmp_path / "camera.y4m"
    portal = open_portal(viewport="phone390", language=language, camera=camera)
    template = make_template("video", title="Licensed video")
    flows.sign_in(portal)
    flows.grant(portal, "biometric_enrolment", "face_swap")
    flows.capture(portal, camera)

    clip = flows.swap(portal, template.title)

    job = SwapJob.objects.get(subject=User.objects.get(phone_number=flows.PHONE))
    assert job.language == language
    words = label_text("AI 生成") if language == "zh-hans" else LABEL_TEXT
    unmarked = [
        n for n, frame in enumerate(iter_frames(clip)) if not label_is_visible(frame, words)
    ]
    assert not unmarked, (unmarked, (tmp_path / "result.mp4").write_bytes(clip))
    video = portal.page.locator("article.swap .result video").first
    badge = portal.page.locator("article.swap .result .ai-badge").first
    assert badge.inner_text() == ("AI 生成 · AI-generated" if language != "en" else "AI-generated")
    for width, height in WIDTHS.items():
        portal.page.set_viewport_size({"width": width, "height": height})
        portal.page.locator("article.swap .result").first.scroll_into_view_if_needed()
        assert video.evaluate(_PLAY_JS) == "playing"
        for _ in range(100):  # 1.2 s of clip
            if video.evaluate(_STATE_JS)["ended"]:
                break
            portal.page.wait_for_timeout(100)
        video.hover()  # the controls show (they also stay while the clip is at its end)
        state = video.evaluate(_STATE_JS)
        assert state["ended"] and state["controls"] and state["frames"] > 0, state

        mark = mark_on_screen(state, label_box(state["videoWidth"], state["videoHeight"], words))
        controls_top = (
            state["y"] + state["height"] - max(CONTROLS_MIN_PX, CONTROLS_SHARE * state["height"])
        )
        assert state["y"] <= mark["top"] < mark["bottom"] < controls_top, (mark, state)
        assert state["x"] <= mark["left"] < mark["right"] <= state["x"] + state["width"]
        assert badge.is_visible() and badge.evaluate(_ON_TOP_JS) == "itself"
        assert badge.bounding_box()["y"] + badge.bounding_box()["height"] <= state["y"]
        portal.page.locator("article.swap .result").first.screenshot(
            path=str(portal.screenshots / f"video-label-{width}px.png")
        )
        portal.step(f"video-result-{width}px")
        if width == 390:  # the narrowest player: the one its controls crowd most
            short = "zh" if language == "zh-hans" else "en"
            portal.page.locator("article.swap .result").first.screenshot(
                path=str(LABEL_SHOT).format(short)
            )
