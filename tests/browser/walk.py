"""The portal's pages as people reach them, for the checks that walk all of them (axe-core,
200 % zoom): ``VISITS`` (who opens which page, and what they do on it first), ``build_world``
(those people and what their pages show: a capture, an image and a clip result, a swap under
way, a share link, reports, erasures, staff) and ``Walker``, which opens the visits in one tab.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from tests.browser.portal import Portal, launch


@contextlib.contextmanager
def one_browser() -> Iterator:
    """One Chromium for a test module. Django's check for ORM calls next to a running event
    loop is off while it runs: the tests read the database only between browser steps."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as driver:
            browser = launch(driver)
            yield browser
            browser.close()
            connections.close_all()


@dataclass(frozen=True)
class Visit:
    """A page as someone reaches it: ``who`` opens ``path`` (its ``{placeholders}`` filled from
    the world), then ``then`` (if any) fills and sends a form; the page is checked as it then
    is. ``route`` is the URL pattern this covers ("" for a page reached by a form elsewhere)."""

    name: str
    route: str
    who: str
    path: str
    then: Callable[[Portal, dict], None] | None = None
    statuses: tuple[int, ...] = ()  # answers expected on purpose (an error page, a form error)


def _send(portal: Portal, selector: str = "main form button[type=submit]") -> None:
    with portal.page.expect_navigation():
        portal.click(selector)


def _phone_sent(portal: Portal, world: dict) -> None:
    portal.page.fill("#id_phone", world["visitor_phone"])
    _send(portal)


def _phone_refused(portal: Portal, world: dict) -> None:
    portal.page.fill("#id_phone", "12")
    _send(portal)


def _wrong_code(portal: Portal, world: dict) -> None:
    _phone_sent(portal, world)
    portal.page.fill("#id_code", "000000")
    _send(portal)


def _year_under_14(portal: Portal, world: dict) -> None:
    portal.page.fill("#id_year_of_birth", str(world["minor_birth_year"]))
    _send(portal, "#age form button[type=submit]")


def _guardian_asked(portal: Portal, world: dict) -> None:
    if portal.page.locator("#age form").count():  # not through the age step yet
        _year_under_14(portal, world)
    portal.page.locator("#guardian input[name=purpose]").first.check()
    portal.page.fill("#guardian-phone", world["guardian_phone"])
    _send(portal, "#guardian form button[type=submit]")


def _share_made(portal: Portal, world: dict) -> None:
    _send(portal, f"#swap-{world['image_job']} form.share-form button[type=submit]")


def _erase_code_sent(portal: Portal, world: dict) -> None:
    _send(portal, "main form input[name=step][value=send] ~ button[type=submit]")


def _mark_checked(portal: Portal, world: dict) -> None:
    portal.page.set_input_files("#id_file", world["result_file"])
    _send(portal)


def _bad_secret(portal: Portal, world: dict) -> None:
    portal.page.fill("main form input[name=secret]", "not-a-secret")
    _send(portal)


def _depicted_withdrawn(portal: Portal, world: dict) -> None:
    portal.page.fill("main form input[name=secret]", world["withdrawal_secret"])
    _send(portal)


VISITS = [
    # Anyone.
    Visit("sign-in", "login/", "visitor", "/login/"),
    Visit("sign-in-refused", "", "visitor", "/login/", _phone_refused, (400,)),
    Visit("code-entry", "login/verify/", "visitor", "/login/", _phone_sent),
    Visit("code-wrong", "", "visitor", "/login/", _wrong_code, (400,)),
    Visit("privacy", "privacy/", "visitor", "/privacy/"),
    Visit("retention", "retention/", "visitor", "/retention/"),
    Visit("transparency", "transparency/", "visitor", "/transparency/"),
    Visit("made-here", "made-here/", "visitor", "/made-here/"),
    Visit("made-here-answer", "", "visitor", "/made-here/", _mark_checked),
    Visit("depicted-withdraw", "depicted/withdraw/", "visitor", "/depicted/withdraw/"),
    Visit("depicted-refused", "", "visitor", "/depicted/withdraw/", _bad_secret, (400, 404)),
    Visit("depicted-withdrawn", "", "visitor", "/depicted/withdraw/", _depicted_withdrawn),
    Visit("share-viewer", "s/<str:token>/", "visitor", "/s/{share_token}/"),
    Visit("share-viewer-gone", "", "visitor", "/s/{gone_token}/", statuses=(404,)),
    Visit("not-found", "", "visitor", "/no-such-page/", statuses=(404,)),
    Visit("admin-sign-in", "admin/", "visitor", "/admin/login/"),
    # A person with a capture, an image and a clip result, a swap under way, a cancelled one.
    Visit("dashboard", "dashboard/", "person", "/dashboard/"),
    Visit("consent-centre", "consent/", "person", "/consent/?next=/swaps/"),
    Visit("withdraw-check", "consent/withdraw/", "person", "/consent/withdraw/?purpose=face_swap"),
    Visit(
        "receipt", "consent/receipts/<uuid:receipt_id>/", "person", "/consent/receipts/{receipt}/"
    ),
    Visit("capture", "capture/", "person", "/capture/"),
    Visit("captures", "captures/", "person", "/captures/"),
    Visit(
        "capture-delete-check",
        "captures/<str:capture_id>/delete/",
        "person",
        "/captures/{capture}/delete/",
    ),
    Visit("swaps", "swaps/", "person", "/swaps/"),
    Visit("share-link-made", "swaps/<str:job_id>/share/", "person", "/swaps/", _share_made),
    Visit(
        "swap-delete-check",
        "swaps/<str:job_id>/delete/",
        "person",
        "/swaps/{video_job}/delete/",
    ),
    Visit("swap-once", "swaps/once/", "person", "/swaps/once/"),
    Visit(
        "report-progress",
        "account/report/<uuid:job_id>/",
        "person",
        "/account/report/{report_pending}/",
    ),
    Visit("report-ready", "", "person", "/account/report/{report_done}/"),
    Visit("erase-check", "account/delete/", "person", "/account/delete/"),
    Visit("erase-confirm", "", "person", "/account/delete/", _erase_code_sent),
    # A child: the age step, then asking a parent or guardian.
    Visit("swap-once-no-consent", "", "minor", "/swaps/once/", statuses=(403,)),
    Visit("age-step", "", "minor", "/consent/"),
    Visit("guardian-ask", "", "minor", "/consent/", _year_under_14),
    Visit("guardian-code", "consent/guardian/", "minor", "/consent/", _guardian_asked),
    # After erasing an account: its progress, then the certificate.
    Visit("erasing", "account/delete/status/", "erasing", "/account/delete/status/"),
    Visit("erased", "", "erased", "/account/delete/status/"),
    # Staff.
    Visit("admin-index", "", "staff", "/admin/"),
    Visit("not-allowed", "", "staff", "/auditor/", statuses=(403,)),
    Visit("auditor", "auditor/", "auditor", "/auditor/"),
    Visit("admin-index-auditor", "", "auditor", "/admin/"),
]

# Addresses with no page of their own to audit, and why.


@contextlib.contextmanager
def walking(
    chromium, live_server, screenshots: Path, enrolled, monkeypatch, language: str, **options
) -> Iterator[tuple[dict, Walker]]:
    """The world built in ``language`` and a ``Walker`` in a browser context of its own
    (``options`` for ``new_context``; ``init_script``: run in every document), closed after."""
    world, clients = build_world(enrolled, monkeypatch, language)
    init_script = options.pop("init_script", "")
    context = chromium.new_context(
        locale="zh-CN" if language.startswith("zh") else "en-GB", **options
    )
    context.set_default_timeout(15_000)
    if init_script:
        context.add_init_script(init_script)
    try:
        yield (
            world,
            Walker(
                context.new_page(),
                base_url=live_server.url,
                language=language,
                screenshots=screenshots,
                clients=clients,
            ),
        )
    finally:
        context.close()


class Walker:
    """Opens visits as the world's people, one after another in one tab (``page``), at
    ``width`` x ``height``; the session cookies are swapped when the person changes."""

    def __init__(self, page, *, base_url: str, language: str, screenshots: Path, clients: dict):
        self.page = page
        self.base_url = base_url
        self.language = language
        self.screenshots = screenshots
        self.cookies = {who: session_cookies(c, base_url) for who, c in clients.items()}
        self.who: str | None = None

    def open(self, visit: Visit, world: dict, *, width: int, height: int) -> Portal:
        if visit.who != self.who:
            self.page.context.clear_cookies()
            self.page.context.add_cookies(self.cookies[visit.who])
            self.who = visit.who
        self.page.set_viewport_size({"width": width, "height": height})
        portal = Portal(
            self.page, base_url=self.base_url, language=self.language, screenshots=self.screenshots
        )
        with portal.expecting(*visit.statuses):
            response = portal.goto(visit.path.format(**world))
            if visit.then is None:
                assert response.status in {200, *visit.statuses}, (visit.name, response.status)
            else:
                visit.then(portal, world)
        lang = self.page.locator("html").get_attribute("lang")
        assert lang == self.language, f"{visit.name} is in {lang}"
        return portal


def session_cookies(client, base_url: str) -> list[dict]:
    """A Django test client's cookies (its session), for the browser."""
    return [{"name": n, "value": c.value, "url": base_url} for n, c in client.cookies.items()]


def build_world(enrolled, monkeypatch, language: str) -> tuple[dict, dict]:
    """Everyone the walk signs in as (their session cookies), and the ids its pages need; the
    person consented to the texts in ``language`` (their receipts are in it)."""
    from django.test import Client

    from consent.erasure.services import erasure_request
    from consent.erasure.views import _ERASURE_KEY
    from consent.identity.services import _role_group
    from consent.ledger.models import ConsentRecord, PolicyText, Purpose
    from consent.ledger.selectors import ClientEvidence
    from consent.ledger.services import consent_grant
    from consent.reports.services import report_job_request
    from swap.services import (
        share_link_create,
        swap_job_delete,
        swap_job_request,
        swap_result_open,
        swap_template_consent_secret_issue,
    )
    from tests.factories import StaffFactory, UserFactory, admin_signed_in
    from tests.swap.jobkit import make_template

    person = UserFactory(phone_number="+447400166601")
    for purpose in ("biometric_enrolment", "face_swap", "output_storage", "ephemeral_swap"):
        text = PolicyText.objects.get(
            policy=Purpose.objects.get(code=purpose).current_version, language=language
        )
        consent_grant(
            subject=person,
            purpose=purpose,
            version=text.policy.version,
            sha256=text.sha256,
            evidence=ClientEvidence(method=ConsentRecord.Method.PORTAL),
        )
    [capture] = enrolled(person)
    picture = make_template("image", title="Licensed picture", sharing=True)
    clip = make_template("video", title="Licensed clip")
    # Tasks run when the request commits (settings: eager): these two are made at once.
    image_job = swap_job_request(subject=person, capture_id=capture.pk, template_id=picture.pk)
    video_job = swap_job_request(subject=person, capture_id=capture.pk, template_id=clip.pk)
    _link, share_token = share_link_create(subject=person, job_id=image_job.pk)
    result = swap_result_open(subject=person, job_id=image_job.pk, download=False)
    report_done = report_job_request(subject=person, language="en", events=0)
    with monkeypatch.context() as patch:  # these stay waiting for a worker
        patch.setattr("compliance_site.jobs._send", lambda kind, pk: None)
        swap_job_request(subject=person, capture_id=capture.pk, template_id=picture.pk)
        cancelled = swap_job_request(subject=person, capture_id=capture.pk, template_id=picture.pk)
        swap_job_delete(subject=person, job_id=cancelled.pk)
        report_pending = report_job_request(subject=person, language="en", events=0)
        _erasing, erasing_token = erasure_request(subject=UserFactory())
    _erased, erased_token = erasure_request(subject=UserFactory())

    withdrawn = make_template("image", title="Picture to withdraw")
    secret = swap_template_consent_secret_issue(
        consent=withdrawn.depicted_consent, actor=None
    ).withdrawal_secret
    auditor = StaffFactory()
    auditor.groups.add(_role_group("auditor"))

    def signed_in(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def erasure_session(token: str) -> Client:
        client = Client()
        session = client.session
        session[_ERASURE_KEY] = token
        session.save()
        client.cookies["sessionid"] = session.session_key
        return client

    clients = {
        "visitor": Client(),
        "person": signed_in(person),
        "minor": signed_in(UserFactory(age_stated=False)),
        "erasing": erasure_session(erasing_token),
        "erased": erasure_session(erased_token),
        "staff": admin_signed_in(StaffFactory()),
        "auditor": admin_signed_in(auditor),
    }
    record = ConsentRecord.objects.filter(subject=person).order_by("id").first()
    result_file = {
        "name": "result.png",
        "mimeType": "image/png",
        "buffer": b"".join(result.content.chunks),
    }
    world = {
        "visitor_phone": "+447400166602",
        "minor_birth_year": date.today().year - 10,
        "guardian_phone": "+447400166603",
        "share_token": share_token,
        "gone_token": "A" * 43,
        "receipt": record.receipt_id,
        "capture": capture.pk,
        "image_job": image_job.pk,
        "video_job": video_job.pk,
        "report_done": report_done.pk,
        "report_pending": report_pending.pk,
        "result_file": result_file,
        "withdrawal_secret": secret,
    }
    return world, clients
