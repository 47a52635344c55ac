"""Browser tests: Playwright drives Debian's Chromium (never a downloaded browser) against the
portal on a live server at 127.0.0.1, with a real Celery worker.

Skipped, with the reason, where ``/usr/bin/chromium`` is missing (a developer machine); CI
installs it (``.ci/run``). Screenshots of every step go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.browser.portal import CHROMIUM, SCREENSHOTS, Portal, launch
from tests.celery_worker import running_worker

# pytest-django's live server listens here (its default is "localhost").
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

VIEWPORTS = {"phone": (360, 740), "phone390": (390, 844), "desktop": (1280, 800)}


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} is not installed (CI installs Debian's chromium package)"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _orm_next_to_playwright(monkeypatch):
    """Playwright's sync API keeps an event loop in this thread, and Django refuses ORM calls
    from a thread with a running loop. These tests read the database only between browser
    steps, never while the loop runs, so the check is off for them (set up first, so it stays
    off until the database is flushed, after Playwright has stopped)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def playwright_driver():
    """Per test: the loop stops with it, so tests after these run with Django's check on."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver
        # The test's own queries ran next to Playwright's loop, on connections of that
        # context: close them here, or PostgreSQL keeps them and cannot drop the test database.
        connections.close_all()


@pytest.fixture
def screenshots(request) -> Path:
    """This test's screenshot folder, emptied first."""
    name = request.node.name.replace("[", "-").replace("]", "").replace("/", "-")
    folder = SCREENSHOTS / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def open_portal(playwright_driver, live_server, screenshots):
    """``open_portal(viewport="phone", language="en", camera=None)`` → a ``Portal`` on a fresh
    Chromium (one per call, so each can have its own fake camera file)."""
    browsers = []

    def open_(*, viewport: str = "phone", language: str = "en", camera: Path | None = None):
        browser = launch(playwright_driver, camera=camera)
        browsers.append(browser)
        width, height = VIEWPORTS[viewport]
        context = browser.new_context(
            viewport={"width": width, "height": height},
            # The browser's own language (Accept-Language): a Chinese reader's browser asks for
            # Chinese; the English run reaches Chinese with the page's buttons only.
            locale="zh-CN" if language.startswith("zh") else "en-GB",
            accept_downloads=True,
        )
        context.set_default_timeout(15_000)
        return Portal(
            context.new_page(),
            base_url=live_server.url,
            language=language,
            screenshots=screenshots,
        )

    yield open_
    for browser in browsers:
        browser.close()


@pytest.fixture
def worker(settings, monkeypatch, tmp_path):
    """A real Celery worker process on the test database and this test's media folder."""
    monkeypatch.setenv("DJANGO_MEDIA_ROOT", str(settings.MEDIA_ROOT))
    with running_worker(tmp_path) as process:
        yield process
