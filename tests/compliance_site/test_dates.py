"""Dates one way everywhere: a moment with its time zone named, a day alone, in the page's
language (``compliance_site.dates``), on every page a person reads."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.test import Client
from django.utils import timezone, translation

from compliance_site.dates import date_text, datetime_text
from swap.services import share_link_create
from tests.swap.jobkit import make_template
from tests.swap.test_depicted_withdrawal import swapper  # noqa: F401

MOMENT = datetime(2026, 12, 6, 18, 21, 33, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "moment", "day"),
    [
        ("en", "6 Dec 2026, 18:21 UTC", "6 Dec 2026"),
        ("zh-hans", "2026年12月6日 18:21 UTC", "2026年12月6日"),
    ],
)
def test_a_moment_and_a_day_are_written_the_languages_way(language, moment, day):
    assert datetime_text(MOMENT, language=language) == moment
    assert date_text(MOMENT, language=language) == day
    assert date_text(date(2026, 12, 6), language=language) == day
    with translation.override(language):
        assert datetime_text(MOMENT) == moment
        rendered = Template("{{ m|datetime_text }} / {{ m|date_text }} / {{ n|date_text }}")
        assert rendered.render(Context({"m": MOMENT, "n": None})) == f"{moment} / {day} / "


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("UTC", "6 Dec 2026, 18:21 UTC"),
        ("Asia/Shanghai", "7 Dec 2026, 02:21 CST"),
        ("Europe/London", "6 Dec 2026, 18:21 GMT"),
        ("Asia/Kolkata", "6 Dec 2026, 23:51 IST"),
        ("America/Sao_Paulo", "6 Dec 2026, 15:21 UTC-03:00"),  # a zone named by its offset
    ],
)
def test_a_moment_is_shown_in_the_active_time_zone_with_its_name(zone, shown):
    with timezone.override(ZoneInfo(zone)):
        assert datetime_text(MOMENT, language="en") == shown
    assert datetime_text(MOMENT, language="en", zone=ZoneInfo(zone)) == shown


def test_the_day_of_a_moment_is_its_day_in_the_time_zone():
    late = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)

    assert date_text(late, language="en") == "6 Dec 2026"
    with timezone.override(ZoneInfo("Asia/Shanghai")):
        assert date_text(late, language="zh-hans") == "2026年12月7日"


def test_iso_texts_from_json_documents_are_read_and_other_text_is_left_alone():
    assert datetime_text("2026-12-06T18:21:33.853386Z", language="en") == "6 Dec 2026, 18:21 UTC"
    assert datetime_text("2026-12-06T19:21:33+01:00", language="en") == "6 Dec 2026, 18:21 UTC"
    assert date_text("2026-12-06", language="zh-hans") == "2026年12月6日"
    assert datetime_text("—") == "—"
    assert date_text("not a date") == "not a date"


# --- every page a person reads ---------------------------------------------------------------

_ENGLISH_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_DATE = {
    "en": rf"\d{{1,2}} (?:{_ENGLISH_MONTHS}) \d{{4}}",
    "zh-hans": r"\d{4}年\d{1,2}月\d{1,2}日",
}
_SEPARATOR = {"en": ", ", "zh-hans": " "}
# What a date must not look like any more: ISO days, numeric days, English months on Chinese
# pages, and times of day without a zone after them.
_ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")
_CLOCK = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?")


def _visible_text(page: str) -> str:
    """The page's text, without markup, scripts, styles, or computer code (JSON, hashes)."""
    page = re.sub(r"(?is)<(script|style|pre|code)\b.*?</\1>", " ", page)
    return html.unescape(re.sub(r"(?s)<[^>]+>", " ", page))


def _dates_on(text: str, language: str, zone: str) -> tuple[list[str], list[str]]:
    """The dates on a page (moments with their zone, and days), and what is wrong."""
    clock = rf"\d{{2}}:\d{{2}} {zone}"
    moment = re.compile(_DATE[language] + re.escape(_SEPARATOR[language]) + clock)
    moments = moment.findall(text)
    rest = moment.sub(" ", text)
    days = re.findall(_DATE[language], rest)
    wrong = _ISO_DAY.findall(rest) + _CLOCK.findall(rest)
    if language != "en":
        wrong += re.findall(_DATE["en"], rest)
    return moments + days, wrong


@pytest.fixture
def alice_with_everything(alice, swapper, settings):  # noqa: F811
    """Alice with consents, a capture, a finished swap and a share link of it."""
    job, _tasks = swapper(alice)(make_template("image", sharing=True))
    job.refresh_from_db()
    _link, token = share_link_create(subject=alice, job_id=job.pk)
    return alice, job, token


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize(("time_zone", "zone"), [("UTC", "UTC"), ("Asia/Shanghai", "CST")])
def test_every_date_on_the_main_pages_is_written_one_way_with_its_time_zone(
    alice_with_everything, settings, language, time_zone, zone
):
    alice, job, token = alice_with_everything
    settings.TIME_ZONE = time_zone
    client = Client()
    client.force_login(alice)
    client.cookies["django_language"] = language
    record = alice.consent_records.order_by("created_at").first()
    capture = alice.captures.get()
    pages = {
        "/dashboard/": language,
        "/consent/": language,
        # A receipt is shown in the language its consent was given in.
        f"/consent/receipts/{record.receipt_id}/": record.language,
        "/captures/": language,
        f"/captures/{capture.pk}/delete/": language,
        "/swaps/": language,
        f"/swaps/{job.pk}/delete/": language,
        f"/s/{token}/": language,
        "/transparency/": language,
    }
    seen = 0
    for path, written_in in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        page = _visible_text(response.content.decode())
        dates, wrong = _dates_on(page, written_in, zone)
        assert not wrong, f"{path}: dates not written one way with their zone: {wrong}"
        seen += len(dates)
    assert seen >= 12  # the check read real dates: consents, captures, swaps, links
