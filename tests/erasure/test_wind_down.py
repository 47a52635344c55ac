"""Closing the service: closing mode refuses new accounts, captures and swaps and shows a
banner; the wind-down erases everyone through the single erasure's path, then the depicted
persons' data, proves every store empty, seals the log and signs a report; a raw scan of every
table and file finds nothing personal; the report, the certificates and the static tombstone
verify offline with the verifier the tombstone ships.

Transactional tests: erasures run (eagerly) when their request's transaction commits.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import SubjectPseudonym, WindDown
from audit.verification import audit_log_verify
from compliance_site import inventory
from compliance_site.dates import date_text
from consent.erasure.models import ErasureRequest
from consent.erasure.winddown import (
    WindDownIncomplete,
    _accounts_erase,
    _erasure_begin,
    _prove_empty,
    wind_down_start,
)
from consent.identity.models import User
from consent.reports.services import report_request
from swap.models import DepictedPersonConsent, SwapJob, SwapTemplate
from swap.services import check_template_file, swap_job_request, swap_template_add
from tests.consent.conftest import last_code, request_code, verify_code
from tests.erasure.kit import (
    CAPTURES_URL,
    CHALLENGE_URL,
    client_for,
    database_hits,
    distinctive_runs,
    folder_hits,
    phone_forms,
    raw_scan,
)
from tests.factories import StaffFactory, UserFactory
from tests.swap.jobkit import SIGNED_PDF, SWAPS_URL, licence, template_png

pytestmark = pytest.mark.django_db(transaction=True)

SUBJECTS = 50
# Audit events hold pseudonyms by design: the log keeps them, the mapping goes.
AUDIT_PSEUDONYM_COLUMNS = {"audit_auditevent": {"subject", "actor"}}
# Stores every one of the 50 holds something in (a capture, a kept result, a stored report...).
EVERYONE_HOLDS = (
    "biometrics.captures",
    "biometrics.subject_key",
    "swap.stored_results",
    "consent.reports",
    "consent.ledger",
    "consent.subject",
    "audit.pseudonyms",
)
DEPICTED = ("Lin Meihua, model release 2026-17", "Arturo Bellweather, release 2026-18")


def _template(person: str, title: str) -> SwapTemplate:
    from swap.services import DepictedConsentTerms

    return swap_template_add(
        title=title,
        media=check_template_file(template_png()),
        licence=licence(),
        consent=DepictedConsentTerms(
            person=person,
            document=SIGNED_PDF.replace(b"(test)", person.encode()),
            scope="Face editing by users of the service.",
            expires_at=timezone.now() + timedelta(days=365),
        ),
        actor=None,
    )


@pytest.fixture
def populated(settings, enrolled, grant_consent):
    """50 subjects, each with a capture, consents (with receipts), a swap result and a stored
    report (with the capture's thumbnail), made by the real services; two templates whose
    depicted persons are named in their consent records and signed documents."""
    settings.REPORT_ASYNC_EVENTS = 0  # every report is made by a (eager) worker and stored
    templates = [_template(person, f"Portrait {n}") for n, person in enumerate(DEPICTED)]
    users = []
    for n in range(SUBJECTS):
        user = UserFactory()
        [capture] = enrolled(user)
        grant_consent(user, "face_swap", "output_storage")
        swap_job_request(subject=user, capture_id=capture.pk, template_id=templates[n % 2].pk)
        report_request(subject=user, language="en")
        users.append(user)
    return users


def _needles(users, capture_media, capture_analysis) -> list[bytes]:
    needles = [form for user in users for form in phone_forms(str(user.phone_number))]
    needles += [person.encode() for person in DEPICTED]
    needles += distinctive_runs(capture_media.photo) + distinctive_runs(template_png())
    needles += distinctive_runs(capture_analysis.embedding.astype("<f4").tobytes(), length=32)
    needles += distinctive_runs(capture_analysis.embedding.astype("<f8").tobytes(), length=32)
    return needles


def _verifier(out, *args: str) -> subprocess.CompletedProcess:
    """The tombstone's own copy of the verifier, in a fresh interpreter, from the tombstone."""
    return subprocess.run(  # noqa: S603 - our own interpreter and files
        [sys.executable, "verify_audit.py", *args],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_fifty_subjects_are_wound_down_and_nothing_personal_is_left_anywhere(
    populated,
    settings,
    tmp_path,
    capture_media,
    capture_analysis,
    _sms_outbox,
    _upload_temp_dir,
    _media_root,
    audit_events,
):
    users = populated
    assert SwapJob.objects.filter(status=SwapJob.Status.DONE).count() == SUBJECTS
    held = {
        store.name: sum(inventory.items_held(store, user.pk) for user in users)
        for store in inventory.stores()
    }
    assert all(held[name] >= SUBJECTS for name in EVERYONE_HOLDS), held
    pseudonyms = [p.encode() for p in SubjectPseudonym.objects.values_list("pseudonym", flat=True)]
    needles = _needles(users, capture_media, capture_analysis)
    # The scan sees what is there: numbers, the depicted persons' names, their documents.
    assert database_hits(phone_forms(str(users[0].phone_number)))
    assert database_hits([DEPICTED[1].encode()])
    assert folder_hits(_media_root, [DEPICTED[0].encode()])
    settings.WIND_DOWN_GRACE_DAYS = 0
    settings.WIND_DOWN_TOMBSTONE_URL = "https://tombstone.example"
    out = tmp_path / "tombstone"
    _sms_outbox.clear()

    call_command("wind_down", out=out, confirm=settings.AUDIT_LOG_ID, interactive=False)

    state = WindDown.objects.get()
    assert state.phase == WindDown.Phase.DONE
    assert [n for n in audit_events(names_only=True) if n.startswith("WIND_DOWN")] == [
        "WIND_DOWN_STARTED",
        "WIND_DOWN_ERASURE_STARTED",
        "WIND_DOWN_STORE_ERASED",
        "WIND_DOWN_ERASED",
        "WIND_DOWN_REPORTED",
    ]
    # Everyone erased through the single erasure's path: one certified request each.
    assert User.objects.count() == 0
    assert ErasureRequest.objects.filter(status=ErasureRequest.Status.DONE).count() == SUBJECTS
    assert not DepictedPersonConsent.objects.exists() and not SwapTemplate.objects.exists()
    # Nothing personal anywhere: every table, every session, every file, the cache, the
    # tombstone itself; no file at all is left in the media folder.
    assert raw_scan(needles + pseudonyms, skip=AUDIT_PSEUDONYM_COLUMNS) == []
    assert folder_hits(out, needles + pseudonyms) == []
    assert [p for p in _media_root.rglob("*") if p.is_file()] == []
    assert not any(_upload_temp_dir.iterdir())
    assert audit_log_verify().ok

    report = json.loads((out / "wind-down-report.json").read_text())
    counts = {row["store"]: (row["before"], row["after"]) for row in report["stores"]}
    assert counts["accounts"] == (SUBJECTS, 0)
    assert {name: counts[name] for name in held} == {name: (n, 0) for name, n in held.items()}
    # One capture, one kept result and one stored report each.
    for name in ("biometrics.captures", "swap.stored_results", "consent.reports"):
        assert counts[name] == (SUBJECTS, 0), name
    assert counts["swap.templates"] == (6, 0)  # 2 templates, 2 licences, 2 consent records
    assert len(report["certificates"]) == SUBJECTS

    # Each person got their token by text message; the tombstone files their certificate
    # under its SHA-256, and the verifier checks it against the bundle.
    assert len(_sms_outbox) == SUBJECTS
    token = re.search(r"lookup\.html#(\S+)$", _sms_outbox[7].body).group(1)
    certificate = out / "certificates" / f"{hashlib.sha256(token.encode()).hexdigest()}.json"
    assert json.loads(certificate.read_text())["verified_empty"] is True
    # The keys the report names are the ones the tombstone publishes, and pin every signature.
    published = json.loads((out / "keys.json").read_text())
    assert [k["fingerprint"] for k in published] == [k["fingerprint"] for k in report["keys"]]
    checked = _verifier(
        out,
        "--keys",
        "keys.json",
        "--trusted-checkpoint",
        "checkpoint.txt",
        "--report",
        "wind-down-report.json",
        "--certificate",
        str(certificate.relative_to(out)),
        "audit-bundle.zip",
    )
    assert checked.returncode == 0, checked.stderr
    assert f"{SUBJECTS} accounts, {SUBJECTS} certificates" in checked.stdout
    assert "certificate of erasure request" in checked.stdout
    assert (out / "lookup.html").exists() and (out / "index.zh-hans.html").exists()
    assert (out / "wind-down-report.pdf").read_bytes().startswith(b"%PDF")


def test_the_verifier_refuses_a_forged_report_or_certificate(populated, settings, tmp_path):
    settings.WIND_DOWN_GRACE_DAYS = 0
    out = tmp_path / "tombstone"
    call_command("wind_down", out=out, confirm=settings.AUDIT_LOG_ID, interactive=False)

    report = json.loads((out / "wind-down-report.json").read_text())
    report["stores"][1]["after"] = 1  # a store said empty that was not: the signature breaks
    (out / "forged.json").write_text(json.dumps(report))
    forged = _verifier(out, "--keys", "keys.json", "--report", "forged.json", "audit-bundle.zip")
    assert forged.returncode == 1 and "report: bad signature" in forged.stderr

    [name] = [p.name for p in (out / "certificates").iterdir()][:1]
    certificate = json.loads((out / "certificates" / name).read_text())
    certificate["audit_event"]["leaf_index"] += 1  # points at another event
    (out / "forged-certificate.json").write_text(json.dumps(certificate))
    forged = _verifier(
        out,
        "--keys",
        "keys.json",
        "--certificate",
        "forged-certificate.json",
        "audit-bundle.zip",
    )
    assert forged.returncode == 1 and "bad signature" in forged.stderr


def test_closing_mode_refuses_sign_up_captures_and_swaps_and_shows_a_banner(
    alice, enrolled, grant_consent, capture_media, _sms_outbox, audit_events
):
    [capture] = enrolled(alice)
    grant_consent(alice, "face_swap")
    grant_consent(alice, "ephemeral_swap")
    template = _template(DEPICTED[0], "Portrait")
    api = client_for(alice)

    state = wind_down_start()

    # No new account: a new number's right code is refused (its owner alone learns why).
    anonymous = APIClient()
    assert request_code(anonymous, "+447400999001").status_code == 202
    refused = verify_code(anonymous, "+447400999001", last_code(_sms_outbox))
    assert refused.status_code == 403 and refused.json()["code"] == "service_closing"
    assert not User.objects.filter(phone_number="+447400999001").exists()
    # An existing subject still signs in, and still gets their data.
    assert request_code(anonymous, str(alice.phone_number)).status_code == 202
    assert (
        verify_code(anonymous, str(alice.phone_number), last_code(_sms_outbox)).status_code == 200
    )
    assert api.get("/api/v1/me/export.json").status_code == 200
    # No capture, no challenge, no swap, with or without enrolment, and no new share link.
    for response in (
        api.get(CHALLENGE_URL),
        api.post(CAPTURES_URL, {}, format="multipart"),
        api.post(
            SWAPS_URL, {"capture": str(capture.pk), "template": str(template.pk)}, format="json"
        ),
        api.get("/api/v1/ephemeral-swaps/challenge"),
        api.post("/api/v1/ephemeral-swaps", {"template": str(template.pk)}, format="multipart"),
        api.post(f"/api/v1/swaps/{uuid.uuid4()}/share-links", {}, format="json"),
    ):
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "service_closing"
    assert not SwapJob.objects.exists()
    assert audit_events(names_only=True).count("WIND_DOWN_STARTED") == 1
    # A banner on every page, in both languages; the capture page sends people back.
    portal = Client()
    portal.force_login(alice)
    page = portal.get("/consent/").content.decode()
    assert "This service is closing" in page and date_text(state.grace_ends_at) in page
    portal.cookies["django_language"] = "zh-hans"
    assert "本服务即将关闭" in portal.get("/privacy/").content.decode()
    assert portal.get("/capture/").status_code == 302
    assert portal.get("/swaps/once/").status_code == 302


def test_the_grace_period_holds_the_erasure_back(alice, settings, tmp_path, capsys):
    settings.WIND_DOWN_GRACE_DAYS = 30
    out = tmp_path / "tombstone"
    call_command("wind_down", out=out, confirm=settings.AUDIT_LOG_ID, interactive=False)
    assert "The grace period ends at" in capsys.readouterr().out
    assert User.objects.filter(pk=alice.pk).exists() and not out.exists()
    assert WindDown.objects.get().phase == WindDown.Phase.CLOSING


def test_the_command_refuses_without_the_log_id(alice, settings, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Not confirmed"):
        call_command("wind_down", out=tmp_path, confirm="another-log", interactive=False)
    assert not WindDown.objects.exists()


def test_a_killed_wind_down_resumes_where_it_stopped(settings, tmp_path, enrolled):
    users = [UserFactory() for _ in range(4)] + [StaffFactory()]  # staff accounts go too
    for user in users[:2]:
        enrolled(user)
    settings.WIND_DOWN_GRACE_DAYS = 0
    wind_down_start()
    row = _erasure_begin(timezone.now())

    class Killed(Exception):
        pass

    def kill_after_two(done: int, total: int) -> None:
        if done == 2:
            raise Killed

    with pytest.raises(Killed):
        _accounts_erase(row, kill_after_two)
    assert WindDown.objects.get().pending == [user.pk for user in users[2:]]
    assert User.objects.count() == 3

    call_command("wind_down", out=tmp_path / "out", interactive=False)

    assert User.objects.count() == 0
    assert ErasureRequest.objects.filter(status=ErasureRequest.Status.DONE).count() == 5
    report = json.loads((tmp_path / "out" / "wind-down-report.json").read_text())
    assert report["accounts_erased"] == 5 and len(report["certificates"]) == 5


def test_a_wind_down_that_cannot_prove_every_store_empty_reports_nothing(
    settings, alice, audit_events
):
    _template(DEPICTED[1], "Portrait")
    settings.WIND_DOWN_GRACE_DAYS = 0
    wind_down_start()
    row = _erasure_begin(timezone.now())
    _accounts_erase(row, None)

    # The templates were not erased (their step was skipped): the proof fails.
    with pytest.raises(WindDownIncomplete, match="swap.templates"):
        _prove_empty(row)

    assert WindDown.objects.get().phase == WindDown.Phase.ERASING
    assert "WIND_DOWN_ERASED" not in audit_events(names_only=True)
