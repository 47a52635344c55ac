"""A page of the portal in Chromium, as a person uses it, with the checks every step makes:
no console errors, no English on a Chinese page, labelled inputs, nothing wider than the screen,
and a screenshot."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from tests.browser.text_check import VISIBLE_TEXT_JS, english_words

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(driver, *, camera: Path | None = None):
    """Debian's Chromium; with ``camera``, a fake camera that plays that .y4m file (read when
    the page opens the camera, so the file may be written after the launch)."""
    args = list(CHROMIUM_ARGS)
    if camera is not None:
        args += [
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}",
        ]
    return driver.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)


# Which elements a person can type into or choose with, and how they may be labelled.
_UNLABELLED_JS = r"""
() => [...document.querySelectorAll("input, select, textarea")]
  .filter((el) => el.type !== "hidden" && el.getClientRects().length)
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                  && !el.getAttribute("aria-labelledby"))
  .map((el) => el.outerHTML)
"""
_OVERFLOW_JS = "() => document.documentElement.scrollWidth - window.innerWidth"


class Portal:
    """One browser tab on the live server. ``step(name)`` checks the page and screenshots it."""

    def __init__(self, page, *, base_url: str, language: str, screenshots: Path):
        self.page = page
        self.base_url = base_url
        self.language = language
        self.screenshots = screenshots
        self.problems: list[str] = []
        self.steps = 0
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        # Expected answers that Chromium reports as console errors (e.g. an error page's 404).
        self.expected_statuses: set[int] = set()

    def _console(self, message) -> None:
        if message.type != "error":
            return
        status = re.search(r"status of (\d{3})", message.text)
        if status and int(status.group(1)) in self.expected_statuses:
            return
        self.problems.append(f"console error on {self.page.url}: {message.text}")

    @contextlib.contextmanager
    def expecting(self, *statuses: int):
        """Pages answered with these statuses on purpose (a form error is a 400): Chromium
        reports each as a console error, which is then not a problem."""
        self.expected_statuses = set(statuses)
        try:
            yield
        finally:
            self.expected_statuses = set()

    # --- moving around ---------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str):
        return self.page.goto(self.url(path))

    def path(self) -> str:
        return self.page.url.removeprefix(self.base_url)

    def click(self, selector: str) -> None:
        self.page.locator(selector).click()

    def choose_language(self) -> None:
        """Switch with the header's language buttons (Django's set_language, a POST)."""
        if self.language == "en":
            return
        with self.page.expect_navigation():
            self.click(f'.language-switch button[value="{self.language}"]')
        assert self.page.locator("html").get_attribute("lang") == self.language

    def text(self, selector: str = "main") -> str:
        return self.page.locator(selector).inner_text()

    # --- the checks made at every step -----------------------------------------------------

    def step(self, name: str) -> Path:
        """Check the page as it is now, and save a screenshot as the next numbered step."""
        self.page.wait_for_load_state("load")
        self.steps += 1
        path = self.screenshots / f"{self.steps:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.check(name)
        return path

    def check(self, name: str = "") -> None:
        where = f"step {name!r} at {self.path()}"
        assert not self.problems, f"{where}: {self.problems}"
        assert self.page.locator("html").get_attribute("lang") == self.language, where
        unlabelled = self.page.evaluate(_UNLABELLED_JS)
        assert not unlabelled, f"{where}: inputs without a label: {unlabelled}"
        overflow = self.page.evaluate(_OVERFLOW_JS)
        assert overflow <= 0, f"{where}: the page is {overflow} px wider than the screen"
        if self.language.startswith("zh"):
            english = english_words(self.page.evaluate(VISIBLE_TEXT_JS))
            assert not english, f"{where}: English on the Chinese page: {english}"
