"""File inputs speak the page's language: a button and a "no file chosen"/file-name line in
Chinese on Chinese pages, whatever the browser's own language, with the real input still the
focused, announced control, and still usable without JavaScript."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.browser.conftest import VIEWPORTS
from tests.browser.portal import Portal, launch

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("policies"),
]

PAGE = "/made-here/"


@pytest.fixture
def picture(tmp_path):
    path = tmp_path / "holiday-picture.jpg"
    image = np.full((64, 64, 3), 200, np.uint8)
    path.write_bytes(cv2.imencode(".jpg", image)[1].tobytes())
    return path


def _open_in_chinese(portal: Portal) -> None:
    portal.goto(PAGE)
    portal.choose_language()
    assert portal.path() == PAGE


@pytest.mark.parametrize("viewport", ["phone390", "desktop"])
def test_a_file_input_on_a_chinese_page_is_worded_in_chinese(open_portal, picture, viewport):
    # An English browser reading the Chinese page: its own button would say "Choose File".
    portal = open_portal(viewport=viewport, language="zh-hans")
    portal.page.context.set_extra_http_headers({"Accept-Language": "en-GB"})
    _open_in_chinese(portal)
    field = portal.page.locator(".field-file")
    assert field.locator(".file-choose").inner_text() == "选择文件"
    assert field.locator(".file-state").inner_text() == "未选择文件"
    portal.step("file-input-empty")

    portal.page.set_input_files("#id_file", str(picture))

    assert field.locator(".file-name").inner_text() == "holiday-picture.jpg"
    assert field.locator(".file-state").inner_text() == "holiday-picture.jpg"
    assert not field.locator(".file-none").is_visible()
    portal.step("file-input-chosen")
    with portal.page.expect_navigation():
        portal.click("main form button[type=submit]")
    answer = portal.page.locator(".message[role=status]").inner_text()
    assert answer.startswith("其中没有找到我们的水印")
    portal.step("file-checked")


def test_the_file_input_is_reached_by_keyboard_with_a_visible_focus(open_portal):
    portal = open_portal(viewport="desktop", language="zh-hans")
    _open_in_chinese(portal)
    page = portal.page

    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "id_file":
            break
    else:
        raise AssertionError("Tab never reached the file input")

    button = page.locator(".file-choose")
    assert button.evaluate("el => getComputedStyle(el).outlineStyle") == "solid"
    assert button.evaluate("el => getComputedStyle(el).outlineWidth") == "3px"
    accessible = page.locator("#id_file")
    assert accessible.evaluate("el => [...el.labels].map(l => l.textContent.trim())") == [
        "一张图片或一段视频",
        "选择文件",
    ]
    portal.step("file-input-focused")


def test_without_javascript_the_file_input_still_works_and_says_a_file_is_chosen(
    playwright_driver, live_server, screenshots, picture
):
    browser = launch(playwright_driver)
    try:
        width, height = VIEWPORTS["phone390"]
        context = browser.new_context(
            viewport={"width": width, "height": height},
            locale="zh-CN",
            java_script_enabled=False,
        )
        portal = Portal(
            context.new_page(),
            base_url=live_server.url,
            language="zh-hans",
            screenshots=screenshots,
        )
        _open_in_chinese(portal)
        state = portal.page.locator(".file-state")
        assert state.inner_text() == "未选择文件"

        portal.page.set_input_files("#id_file", str(picture))

        assert state.inner_text() == "已选择文件"
        portal.step("file-chosen-without-javascript")
        with portal.page.expect_navigation():
            portal.click("main form button[type=submit]")
        assert portal.page.locator(".message[role=status]").is_visible()
    finally:
        browser.close()
