"""The depicted person's withdrawal reaches everything made with their face: running jobs stop
between frames, queued ones are cancelled, every subject's results are erased (files too) and
each owner finds a notice saying why. The person withdraws themselves, without an account, with
the secret printed on their consent record: a public page and an API, rate-limited per network,
one refusal for a wrong or used secret, the secret never stored or logged in clear."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from audit.services import retention_sweep
from compliance_site import inventory
from swap.models import DepictedPersonConsent, SwapJob, SwapNotice
from swap.selectors import template_refusal
from swap.services import swap_template_consent_withdraw
from tests.erasure.kit import client_for
from tests.swap.jobkit import (
    CLIP_FRAMES,
    EngineSpy,
    depicted_consent,
    expire_depicted_consent,
    make_template,
    request_swap,
)
from tests.swap.test_templates import admin_client  # noqa: F401

pytestmark = pytest.mark.django_db

PAGE = "/depicted/withdraw/"
API = "/api/v1/depicted-withdrawals"
NOTICES = "/api/v1/swap-notices"
REFUSED = "This withdrawal secret is not valid, or it has been used already."


def result_files(media_root) -> list:
    folder = media_root / "swap_results"
    return sorted(folder.iterdir()) if folder.exists() else []


def names(audit_events, start: int) -> list[str]:
    return [name for name, _data in audit_events()[start:]]


@pytest.fixture
def swapper(enrolled, grant_consent, django_capture_on_commit_callbacks):
    """``swapper(user)`` → ``swap(template, run=True)``: the user, enrolled and consenting to
    face swaps, asks for a swap through the API; with ``run`` the worker makes it at once."""

    def ready(user):
        [capture] = enrolled(user)
        grant_consent(user, "face_swap")
        api = client_for(user)

        def swap(template, *, run: bool = True):
            with django_capture_on_commit_callbacks(execute=run) as tasks:
                response = request_swap(api, capture, template)
            assert response.status_code == 202, response.content
            return SwapJob.objects.get(pk=response.json()["id"]), tasks

        return swap

    return ready


def withdraw_on_page(secret: str, *, client: Client | None = None, **extra):
    client = client or Client()
    return client.post(PAGE, {"secret": secret, "confirm": "on"}, **extra)


# --- running and queued jobs --------------------------------------------------------------------


def test_a_running_clip_stops_between_frames_when_the_depicted_person_withdraws(
    alice, swapper, monkeypatch, audit_events, _media_root
):
    template = make_template("video")
    job, tasks = swapper(alice)(template, run=False)
    secret = template.depicted_consent.withdrawal_secret
    withdrawn = []

    def withdraw_on_third_frame(call: int) -> None:
        if call == 3:
            withdrawn.append(withdraw_on_page(secret).status_code)

    spy = EngineSpy(monkeypatch, on_call=withdraw_on_third_frame)
    start = len(audit_events())
    for task in tasks:
        task()

    job.refresh_from_db()
    assert withdrawn == [200]
    assert 3 <= spy.calls < CLIP_FRAMES
    assert (job.status, job.error, job.result) == ("cancelled", "depicted_consent_withdrawn", "")
    assert result_files(_media_root) == []
    assert names(audit_events, start) == [
        "SWAP_JOB_STARTED",
        "CAPTURE_USED",
        "SWAP_JOB_CANCELLED",
        "SWAP_TEMPLATE_CONSENT_WITHDRAWN",
    ]
    withdrawal = audit_events()[-1][1]
    assert withdrawal == {
        "consents": [template.depicted_consent_id],
        "by": "depicted_person",
        "stopped": 1,
        "cancelled": 0,
        "erased": 0,
        "notified": 0,
        "requests": [],
    }


def test_a_running_clip_stops_between_frames_when_staff_record_the_withdrawal(
    alice, swapper, monkeypatch, _media_root
):
    template = make_template("video")
    job, tasks = swapper(alice)(template, run=False)

    def withdraw_on_third_frame(call: int) -> None:
        if call == 3:
            swap_template_consent_withdraw(consent=template.depicted_consent, actor=None)

    spy = EngineSpy(monkeypatch, on_call=withdraw_on_third_frame)
    for task in tasks:
        task()

    job.refresh_from_db()
    assert 3 <= spy.calls < CLIP_FRAMES
    assert (job.status, job.error, job.result) == ("cancelled", "depicted_consent_withdrawn", "")
    assert result_files(_media_root) == []


def test_a_running_clip_stops_between_frames_when_the_depicted_consent_expires(
    alice, swapper, monkeypatch, _media_root
):
    """The between-frames check reads the template's usability itself, not only the job row:
    here nothing touches the job, the consent only runs out."""
    template = make_template("video")
    job, tasks = swapper(alice)(template, run=False)
    spy = EngineSpy(
        monkeypatch, on_call=lambda call: call == 3 and expire_depicted_consent(template)
    )
    for task in tasks:
        task()

    job.refresh_from_db()
    assert 3 <= spy.calls < CLIP_FRAMES
    assert (job.status, job.error, job.result) == ("cancelled", "depicted_consent_expired", "")
    assert result_files(_media_root) == []


def test_an_image_whose_depicted_consent_expires_while_it_is_made_is_never_stored(
    alice, swapper, monkeypatch, _media_root
):
    """The last check, with the template's row locked, before the result is written."""
    template = make_template("image")
    job, tasks = swapper(alice)(template, run=False)
    EngineSpy(monkeypatch, on_call=lambda call: call == 1 and expire_depicted_consent(template))
    for task in tasks:
        task()

    job.refresh_from_db()
    assert (job.status, job.error, job.result) == ("cancelled", "depicted_consent_expired", "")
    assert result_files(_media_root) == []


def test_queued_jobs_of_every_subject_are_cancelled_and_never_run(alice, bob, swapper, monkeypatch):
    template = make_template("image")
    queued = [swapper(user)(template, run=False) for user in (alice, bob)]
    spy = EngineSpy(monkeypatch)

    done = APIClient().post(
        API, {"secret": template.depicted_consent.withdrawal_secret}, format="json"
    )
    for _job, tasks in queued:
        for task in tasks:
            task()

    assert done.status_code == 200, done.content
    assert done.json() == {
        "template": template.title,
        "stopped": 0,
        "cancelled": 2,
        "erased": 0,
        "notified": 0,
    }
    assert spy.calls == 0
    for job, _tasks in queued:
        job.refresh_from_db()
        assert (job.status, job.error) == ("cancelled", "depicted_consent_withdrawn")


# --- results made with the template -------------------------------------------------------------


def test_results_of_two_subjects_are_erased_and_each_owner_is_told_why(
    alice, bob, swapper, audit_events, _media_root
):
    template = make_template("image", title="Harbour at dusk")
    other = make_template("image", title="Another template")
    alice_swap, bob_swap = swapper(alice), swapper(bob)
    mine = [alice_swap(template)[0], bob_swap(template)[0]]
    kept = alice_swap(other)[0]
    assert all(SwapJob.objects.get(pk=job.pk).status == "done" for job in [*mine, kept])
    assert len(result_files(_media_root)) == 3
    start = len(audit_events())

    response = withdraw_on_page(template.depicted_consent.withdrawal_secret.lower())

    assert response.status_code == 200
    page = response.content.decode()
    assert "Your consent is withdrawn" in page and "2 results were erased." in page
    assert "2 users were told why their result is gone." in page
    assert not SwapJob.objects.filter(pk__in=[job.pk for job in mine]).exists()
    kept.refresh_from_db()
    assert [path.name for path in result_files(_media_root)] == [kept.result.split("/")[-1]]
    for user, job in zip((alice, bob), mine, strict=True):
        api = client_for(user)
        assert api.get(f"/api/v1/swaps/{job.pk}/result").status_code == 404
        [notice] = api.get(NOTICES).json()
        assert notice["reason"] == "depicted_consent_withdrawn"
        assert notice["template"] == "Harbour at dusk"
        assert "Harbour at dusk" in notice["text"] and "withdrew their consent" in notice["text"]
        assert "MR-2026-042" not in str(notice)  # nothing about the depicted person
        chinese = api.get(NOTICES, HTTP_ACCEPT_LANGUAGE="zh-hans").json()[0]["text"]
        assert "Harbour at dusk" in chinese and "撤回" in chinese
        portal = Client()
        portal.force_login(user)
        swaps_page = portal.get("/swaps/").content.decode()
        assert "Results we erased" in swaps_page and "Harbour at dusk" in swaps_page
        assert "撤回" in portal.get("/swaps/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    events = audit_events()[start:]
    assert [name for name, _ in events] == [
        "SWAP_RESULT_ERASED",
        "SWAP_RESULT_ERASED",
        "SWAP_TEMPLATE_CONSENT_WITHDRAWN",
    ]
    assert events[0][1]["reason"] == "depicted_consent_withdrawn"
    assert events[-1][1]["erased"] == 2 and events[-1][1]["notified"] == 2


def test_staff_recording_the_withdrawal_erases_the_results_too(alice, swapper, _media_root):
    template = make_template("image")
    job, _tasks = swapper(alice)(template)

    swap_template_consent_withdraw(consent=template.depicted_consent, actor=None)

    assert not SwapJob.objects.filter(pk=job.pk).exists() and result_files(_media_root) == []
    assert SwapNotice.objects.filter(subject=alice).count() == 1


def test_notices_are_in_the_inventory_and_go_with_retention_or_erasure(alice, swapper):
    template = make_template("image", title="Harbour at dusk")
    swapper(alice)(template)
    swap_template_consent_withdraw(consent=template.depicted_consent, actor=None)
    [notice] = SwapNotice.objects.all()

    assert inventory.locate_all(alice.pk)["swap.notices"] == [f"swap_notice:{notice.pk}"]
    [exported] = inventory.export_all(alice.pk)["swap.notices"]
    assert exported["template"] == "Harbour at dusk"
    with time_machine.travel(timezone.now() + timedelta(days=29)):
        retention_sweep()
    assert SwapNotice.objects.exists()
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        retention_sweep()
    assert not SwapNotice.objects.exists()


# --- the withdrawal secret ----------------------------------------------------------------------


def test_the_public_page_says_what_a_withdrawal_does_before_it_is_made():
    response = Client().get(PAGE)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Every result already made with it is erased" in page
    assert "stop before their next frames" in page and "cannot be undone" in page
    assert "sessionid" not in response.cookies  # a GET creates no session
    chinese = Client().get(PAGE, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "撤回" in chinese


def test_the_confirmation_box_must_be_ticked(alice):
    template = make_template("image")

    response = Client().post(PAGE, {"secret": template.depicted_consent.withdrawal_secret})

    assert response.status_code == 400
    assert template_refusal(template, timezone.now()) is None


def _without_csrf(body: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", body)


def test_a_wrong_and_a_used_secret_get_one_and_the_same_refusal(audit_events):
    template = make_template("image")
    secret = template.depicted_consent.withdrawal_secret
    assert withdraw_on_page(secret).status_code == 200
    start = len(audit_events())

    wrong_secret = "0000-0000-0000-0000-0000-0000-0000"
    answers = [withdraw_on_page(s) for s in (wrong_secret, secret, "nonsense")]
    api = [APIClient().post(API, {"secret": s}, format="json") for s in (wrong_secret, secret)]

    assert {answer.status_code for answer in answers} == {403}
    assert REFUSED in answers[0].content.decode()
    assert len({_without_csrf(answer.content) for answer in answers}) == 1
    assert {tuple(sorted(a.headers)) for a in answers} == {tuple(sorted(answers[0].headers))}
    assert [a.status_code for a in api] == [403, 403] and api[0].json() == api[1].json()
    assert api[0].json()["code"] == "withdrawal_secret_refused"
    assert (
        audit_events()[start:]
        == [("SWAP_DEPICTED_WITHDRAWAL_REFUSED", {"reason": "secret_refused"})] * 5
    )


def test_attempts_are_limited_per_network_and_the_limit_is_audited(audit_events):
    template = make_template("image")
    secret = template.depicted_consent.withdrawal_secret
    for _attempt in range(10):
        assert withdraw_on_page("0000-0000-0000-0000-0000-0000-0000").status_code == 403
    start = len(audit_events())

    limited = withdraw_on_page(secret)
    api_limited = APIClient().post(API, {"secret": secret}, format="json")

    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert api_limited.status_code == 429 and api_limited.json()["code"] == "rate_limited"
    assert template_refusal(template, timezone.now()) is None  # the right secret did nothing
    assert (
        audit_events()[start:]
        == [("SWAP_DEPICTED_WITHDRAWAL_REFUSED", {"reason": "rate_limited"})] * 2
    )
    # Another network is counted on its own.
    assert withdraw_on_page(secret, REMOTE_ADDR="198.51.100.7").status_code == 200


def test_each_recorded_consent_gets_its_own_secret_and_it_is_never_stored_or_logged(alice):
    from swap.services import swap_template_consent_record

    template = make_template("image")
    renewal = swap_template_consent_record(
        template=template, consent=depicted_consent(), actor=None
    )
    secrets_issued = [template.depicted_consent.withdrawal_secret, renewal.withdrawal_secret]

    assert all(
        re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4}", s) for s in secrets_issued
    )
    assert secrets_issued[0] != secrets_issued[1]
    forms = {form for s in secrets_issued for form in (s, s.replace("-", ""), s.lower())}
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM swap_depictedpersonconsent")
        cells = [str(cell) for row in cursor.fetchall() for cell in row]
    assert cells and not [cell for cell in cells for form in forms if form in cell]
    withdraw_on_page(secrets_issued[0])
    logged = list(AuditEvent.objects.values_list("data_jcs", flat=True))
    assert not [event for event in logged for form in forms if form in event]
    # Either secret withdrew the person's consent to the template: every record is closed.
    assert not DepictedPersonConsent.objects.filter(withdrawn_at__isnull=True).exists()
    assert withdraw_on_page(secrets_issued[1]).status_code == 403


def test_the_admin_shows_the_secret_once_on_the_printable_consent_record(
    admin_client,  # noqa: F811
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from tests.swap.jobkit import SIGNED_PDF

    template = make_template("image", title="Harbour at dusk")
    ends = timezone.localtime(timezone.now() + timedelta(days=100))
    response = admin_client.post(
        reverse("admin:swap_depictedpersonconsent_add"),
        {
            "template": template.pk,
            "person": "Model release MR-9",
            "document": SimpleUploadedFile("release.pdf", SIGNED_PDF),
            "scope": "Face editing.",
            "expires_at_0": ends.strftime("%Y-%m-%d"),
            "expires_at_1": ends.strftime("%H:%M:%S"),
        },
    )

    assert response.status_code == 201
    page = response.content.decode()
    [secret] = re.findall(r"<code>([0-9A-Z-]{34})</code>", page)
    assert "Harbour at dusk" in page and "http://testserver/depicted/withdraw/" in page
    row = DepictedPersonConsent.objects.get(person="Model release MR-9")
    assert page.count(secret) == 1 and secret not in str(row.__dict__)
    detail = admin_client.get(reverse("admin:swap_depictedpersonconsent_change", args=[row.pk]))
    assert secret not in detail.content.decode()
    assert withdraw_on_page(secret).status_code == 200


def test_staff_issue_a_new_secret_and_the_old_one_stops_working(
    admin_client,  # noqa: F811
    audit_events,
):
    from django.urls import reverse

    template = make_template("image")
    old = template.depicted_consent.withdrawal_secret
    start = len(audit_events())

    response = admin_client.post(
        reverse("admin:swap_depictedpersonconsent_changelist"),
        {"action": "issue_secret", "_selected_action": [template.depicted_consent_id]},
    )

    assert response.status_code == 201
    [new] = re.findall(r"<code>([0-9A-Z-]{34})</code>", response.content.decode())
    assert new != old
    assert names(audit_events, start) == ["SWAP_TEMPLATE_CONSENT_SECRET_ISSUED"]
    assert withdraw_on_page(old).status_code == 403
    assert withdraw_on_page(new).status_code == 200


def test_the_depicted_withdrawal_destroys_a_key_its_erasure_left_with_nothing_to_open(
    alice, swapper, audit_events
):
    """The policy text: the data key is destroyed as soon as nothing encrypted with it is kept.
    Alice deleted her capture; her one result is the last thing under her key. The depicted
    person's withdrawal erases it, so the key goes with it, not at some later sweep."""
    from biometrics.models import Capture, SubjectKey

    template = make_template("image")
    job, _tasks = swapper(alice)(template)
    [capture] = Capture.objects.filter(subject=alice)
    assert client_for(alice).delete(f"/api/v1/captures/{capture.pk}").status_code == 204
    assert SubjectKey.objects.filter(subject=alice).exists()  # the result still needs it

    assert withdraw_on_page(template.depicted_consent.withdrawal_secret).status_code == 200

    assert not SwapJob.objects.filter(pk=job.pk).exists()
    assert not SubjectKey.objects.filter(subject=alice).exists()
    destroyed = [data for name, data in audit_events() if name == "SUBJECT_KEY_DESTROYED"]
    assert destroyed[-1]["reason"] == "depicted_consent_withdrawn"


@pytest.mark.parametrize(
    ("header", "spoofed", "real"),
    [
        # Behind our proxy: the client writes the first addresses, the proxy appends the last.
        ("HTTP_X_FORWARDED_FOR", lambda n: f"10.0.0.{n}, 203.0.113.5", "203.0.113.5"),
        # Without a configured header, a forged X-Forwarded-For is ignored.
        ("", lambda n: f"10.0.0.{n}", "203.0.113.5"),
    ],
)
def test_the_limit_holds_against_forged_forwarded_addresses(settings, header, spoofed, real):
    settings.CLIENT_IP_HEADER = header
    template = make_template("image")
    wrong = "0000-0000-0000-0000-0000-0000-0000"
    for n in range(10):
        response = withdraw_on_page(wrong, REMOTE_ADDR=real, HTTP_X_FORWARDED_FOR=spoofed(n))
        assert response.status_code == 403

    last = withdraw_on_page(
        template.depicted_consent.withdrawal_secret,
        REMOTE_ADDR=real,
        HTTP_X_FORWARDED_FOR=spoofed(99),
    )

    assert last.status_code == 429
    assert template_refusal(template, timezone.now()) is None


def test_the_limit_counts_an_ipv6_client_by_its_64_not_by_each_address():
    template = make_template("image")
    wrong = "0000-0000-0000-0000-0000-0000-0000"
    for n in range(10):
        response = withdraw_on_page(wrong, REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}")
        assert response.status_code == 403

    rotated = withdraw_on_page(
        template.depicted_consent.withdrawal_secret, REMOTE_ADDR="2001:db8:1:2:ffff::1"
    )

    assert rotated.status_code == 429


def test_after_the_withdrawal_no_cache_may_show_the_template_poster_again(alice):
    """The poster is the depicted person's face: a browser may not reuse its copy without
    asking again, and asked again after the withdrawal, the answer is no."""
    template = make_template("image")
    api = client_for(alice)
    poster = f"/api/v1/templates/{template.pk}/poster"
    first = api.get(poster)
    assert first.status_code == 200
    directives = {d.strip() for d in first["Cache-Control"].split(",")}
    assert "private" in directives
    assert directives & {"no-cache", "no-store"}  # never reused without asking
    assert not any(d.startswith("max-age=") and d != "max-age=0" for d in directives)

    assert withdraw_on_page(template.depicted_consent.withdrawal_secret).status_code == 200

    assert api.get(poster).status_code in (404, 422)


def test_the_public_page_refuses_a_cross_site_post_without_its_csrf_token():
    """A page elsewhere cannot make a visitor's browser withdraw with a secret it holds: the
    form needs the token of our own page."""
    template = make_template("image")
    browser = Client(enforce_csrf_checks=True)

    forged = browser.post(
        PAGE, {"secret": template.depicted_consent.withdrawal_secret, "confirm": "on"}
    )

    assert forged.status_code == 403
    assert template_refusal(template, timezone.now()) is None
    page = browser.get(PAGE)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token is not None
    done = browser.post(
        PAGE,
        {
            "secret": template.depicted_consent.withdrawal_secret,
            "confirm": "on",
            "csrfmiddlewaretoken": token.group(1),
        },
    )
    assert done.status_code == 200
    template.refresh_from_db()
    assert template_refusal(template, timezone.now()) == "depicted_consent_withdrawn"
