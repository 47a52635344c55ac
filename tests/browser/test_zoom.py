"""A 1280 px screen at 200 % zoom (a 640 px wide CSS viewport at two device pixels each) on the
portal's main pages in both languages: no sideways scrolling, no text cut off by a box that
hides what overflows, and every control on screen. A screenshot of each page."""

from __future__ import annotations

import pytest

from tests.browser import walk

pytestmark = [pytest.mark.browser]

ZOOMED = {"width": 640, "height": 400}  # 1280 x 800 at 200 %

MAIN_PAGES = [
    "sign-in",
    "code-entry",
    "dashboard",
    "consent-centre",
    "withdraw-check",
    "receipt",
    "capture",
    "captures",
    "capture-delete-check",
    "swaps",
    "share-link-made",
    "swap-delete-check",
    "swap-once",
    "report-ready",
    "erase-check",
    "erase-confirm",
    "guardian-code",
    "erased",
    "privacy",
    "retention",
    "transparency",
    "made-here",
    "depicted-withdraw",
    "share-viewer",
    "not-found",
    "auditor",
]

_LAYOUT_JS = r"""
() => {
  const root = document.scrollingElement;
  const problems = [];
  if (root.scrollWidth > root.clientWidth + 1) {
    problems.push(`scrolls sideways: ${root.scrollWidth} px wide in ${root.clientWidth} px`);
  }
  const describe = (el) => {
    const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").trim();
    const classes = typeof el.className === "string" ? el.className.trim() : "";
    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
      + (classes ? "." + classes.split(/\s+/).join(".") : "");
    return `<${name}> "${text.slice(0, 40)}"`;
  };
  // Hidden on purpose: the visually-hidden pattern (a 1 px clipped box) and what it holds.
  const clippedAway = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.clip !== "auto" || style.clipPath !== "none") return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll("*")) {
    if (!el.getClientRects().length || clippedAway(el)) continue;
    const style = getComputedStyle(el);
    const hides = (v) => v === "hidden" || v === "clip";
    const cutX = hides(style.overflowX) && el.scrollWidth > el.clientWidth + 1;
    const cutY = hides(style.overflowY) && el.scrollHeight > el.clientHeight + 1;
    const ellipsis = style.textOverflow === "ellipsis" && el.scrollWidth > el.clientWidth + 1;
    if ((cutX || cutY || ellipsis) && (el.innerText || "").trim()) {
      problems.push(`text cut off: ${describe(el)}`);
    }
  }
  const controls = "a[href], button, input:not([type=hidden]), select, textarea, summary, "
    + "video[controls]";
  const width = root.clientWidth;
  for (const el of document.body.querySelectorAll(controls)) {
    if (!el.getClientRects().length || clippedAway(el)) continue;
    if (el.closest("[hidden], .skip-link")) continue;  // shown when needed (on focus)
    const box = el.getBoundingClientRect();
    if (box.width < 1 || box.height < 1) {
      problems.push(`control without size: ${describe(el)}`);
    } else if (box.left < -1 || box.right > width + 1) {
      const span = `${Math.round(box.left)}..${Math.round(box.right)} px`;
      problems.push(`control off screen (${span}): ${describe(el)}`);
    }
  }
  return problems;
}
"""


_BREAK_JS = """() => {
  const box = document.createElement("p");
  box.style.cssText = "overflow: hidden; white-space: nowrap; width: 5rem";
  box.textContent = "A sentence much longer than its box is wide";
  const button = document.createElement("button");
  button.style.cssText = "position: absolute; left: 0; top: 0; width: 1000px";
  button.textContent = "Off the side";
  document.querySelector("main").append(box, button);
}"""


@pytest.fixture(scope="module")
def chromium():
    with walk.one_browser() as browser:
        yield browser


def test_the_main_pages_list_names_visits_of_the_walk():
    assert set(MAIN_PAGES) <= {visit.name for visit in walk.VISITS}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("policies")
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_main_pages_work_at_200_percent_zoom(
    chromium, live_server, screenshots, enrolled, monkeypatch, language
):
    found = {}
    with walk.walking(
        chromium,
        live_server,
        screenshots,
        enrolled,
        monkeypatch,
        language,
        viewport=ZOOMED,
        device_scale_factor=2,
    ) as (world, walker):
        for visit in walk.VISITS:
            if visit.name not in MAIN_PAGES:
                continue
            portal = walker.open(visit, world, **ZOOMED)
            # At CSS pixels: the same layout, a quarter of the pixels to encode.
            shot = screenshots / f"{visit.name}.png"
            portal.page.screenshot(path=str(shot), full_page=True, scale="css")
            problems = portal.page.evaluate(_LAYOUT_JS)
            if problems:
                found[visit.name] = problems
        # The check sees what it should: a line too wide for a box that hides its overflow,
        # and a control pushed off the side.
        walker.page.evaluate(_BREAK_JS)
        caught = walker.page.evaluate(_LAYOUT_JS)

    assert found == {}
    assert [p.split(":")[0] for p in caught] == [
        "scrolls sideways",
        "text cut off",
        "control off screen (0..1000 px)",
    ], caught
