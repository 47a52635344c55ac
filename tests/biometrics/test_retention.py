"""Retention is enforced: the sweep erases exactly what each rule says expired, through the same
erase path, with one audit event per sweep."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from audit.services import retention_sweep
from audit.tasks import retention_sweep_task
from biometrics.models import Capture, LivenessChallenge, SubjectKey
from biometrics.services import capture_use, liveness_challenge_issue
from compliance_site import inventory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _counts(captures=0, challenges=0, orphans=0, keys=0) -> dict:
    """The sweep's counts: these for the biometric rules, 0 for every other app's."""
    counts = dict.fromkeys((rule.name for rule in inventory.expiries()), 0)
    counts.update(
        {
            "biometrics.captures": captures,
            "biometrics.challenges": challenges,
            "biometrics.orphan_files": orphans,
            "biometrics.subject_keys": keys,
        }
    )
    return counts


def test_captures_unused_for_365_days_are_erased_and_no_others(
    alice, bob, enrolled, grant_consent, settings, time_machine, audit_events, _media_root
):
    time_machine.move_to(T0, tick=False)
    [stale] = enrolled(alice)
    [used] = enrolled(bob)
    [fresh] = enrolled(alice)
    grant_consent(bob, "face_swap")
    time_machine.move_to(T0 + timedelta(days=200), tick=False)
    capture_use(subject=bob, capture_id=used.pk, purpose="face_swap")  # its clock restarts
    Capture.objects.filter(pk=fresh.pk).update(last_used_at=T0 + timedelta(days=2))

    time_machine.move_to(T0 + timedelta(days=365, hours=1), tick=False)
    start = len(audit_events())
    erased = retention_sweep()

    assert erased == _counts(captures=1)
    assert set(Capture.objects.values_list("pk", flat=True)) == {used.pk, fresh.pk}
    assert not (_media_root / stale.photo).exists()
    assert (_media_root / used.photo).exists()
    assert audit_events()[start:] == [
        (
            "RETENTION_SWEPT",
            {
                "erased": _counts(captures=1),
                # Read through the gate, as for every deletion: expired while consent stood.
                "consent": {"biometrics.captures": {"granted": 1}},
            },
        )
    ]

    time_machine.move_to(T0 + timedelta(days=367, hours=1), tick=False)
    # Alice's last capture goes, and with it her data key: nothing of hers needs it any more.
    assert retention_sweep() == _counts(captures=1, keys=1)
    assert set(Capture.objects.values_list("pk", flat=True)) == {used.pk}
    assert list(SubjectKey.objects.values_list("subject_id", flat=True)) == [bob.pk]


def test_a_capture_at_364_days_is_kept(alice, enrolled, time_machine):
    time_machine.move_to(T0, tick=False)
    enrolled(alice)

    time_machine.move_to(T0 + timedelta(days=364, hours=23), tick=False)

    assert retention_sweep() == _counts()
    assert Capture.objects.count() == 1


def test_expired_challenges_are_erased_and_live_ones_kept(alice, bob, grant_consent, time_machine):
    grant_consent(alice, "biometric_enrolment")
    grant_consent(bob, "biometric_enrolment")
    time_machine.move_to(T0, tick=False)
    expired = liveness_challenge_issue(subject=alice)
    time_machine.move_to(T0 + timedelta(minutes=1, seconds=30), tick=False)
    live = liveness_challenge_issue(subject=bob)

    time_machine.move_to(T0 + timedelta(minutes=2, seconds=1), tick=False)

    assert retention_sweep() == _counts(challenges=1)
    assert list(LivenessChallenge.objects.values_list("pk", flat=True)) == [live.pk]
    assert not LivenessChallenge.objects.filter(pk=expired.pk).exists()


def test_ciphertext_files_left_without_a_capture_are_erased_after_a_day(
    alice, enrolled, settings, time_machine, _media_root
):
    [capture] = enrolled(alice)
    orphan = _media_root / "captures" / f"{uuid.uuid4()}.photo"
    orphan.write_bytes(b"FLD1 left by a killed process")

    assert retention_sweep()["biometrics.orphan_files"] == 0  # it may be a capture being made
    time_machine.move_to(datetime.now(UTC) + timedelta(days=1, minutes=1), tick=False)

    assert retention_sweep()["biometrics.orphan_files"] == 1
    assert not orphan.exists()
    assert (_media_root / capture.photo).exists()


def test_the_command_and_the_beat_task_run_the_same_sweep(alice, enrolled, time_machine, capfd):
    time_machine.move_to(T0, tick=False)
    enrolled(alice, captures=2)
    time_machine.move_to(T0 + timedelta(days=400), tick=False)

    call_command("retention_sweep")
    result = retention_sweep_task.delay()

    assert "biometrics.captures: 2 erased" in capfd.readouterr().out
    assert result.get() == _counts()
    assert not Capture.objects.exists()


def test_an_empty_sweep_is_audited_too(db, audit_events):
    assert retention_sweep() == _counts()
    assert audit_events() == [("RETENTION_SWEPT", {"erased": _counts()})]


def test_celery_beat_runs_the_retention_and_erasure_sweeps():
    from compliance_site.settings import base
    from compliance_site.tasks import jobs_recover_task  # erasures are jobs: it re-queues them

    schedule = {entry["task"] for entry in base.CELERY_BEAT_SCHEDULE.values()}

    assert {retention_sweep_task.name, jobs_recover_task.name} <= schedule
