"""Grants and withdrawals at once from several connections stay ordered and consistent."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from audit.actions import AuditAction
from audit.models import AuditEvent
from consent.ledger.gate import ConsentRequired, require_consent
from consent.ledger.models import ConsentRecord
from consent.ledger.selectors import ClientEvidence, consent_states_for
from consent.ledger.services import consent_withdraw
from tests.consent.conftest import quote, token_client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("policies")]

CONSENTS = "/api/v1/consents"
ROUNDS = 8


def _in_threads(*calls) -> list:
    """Run each call in its own thread (own connection), released together; their results."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:  # surfaced below: a thread's failure fails the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_a_grant_withdraw_race_leaves_an_alternating_ledger_matching_its_event_trail(alice):
    start = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    granter, withdrawer = token_client(alice), token_client(alice)
    granted = granter.post(CONSENTS, quote("biometric_enrolment"), format="json")
    assert granted.status_code == 201
    statuses = []

    for _ in range(ROUNDS):
        statuses += _in_threads(
            lambda: withdrawer.delete(f"{CONSENTS}/biometric_enrolment").status_code,
            lambda: granter.post(CONSENTS, quote("biometric_enrolment"), format="json").status_code,
        )

    records = list(ConsentRecord.objects.filter(subject=alice).order_by("id"))
    actions = [r.action for r in records]
    # Never two grants or two withdrawals in a row: each saw the one before it.
    assert all(a != b for a, b in zip(actions, actions[1:], strict=False))
    assert actions[0] == "grant"
    assert len(records) == 1 + statuses.count(200) + statuses.count(201)
    assert set(statuses) <= {200, 201, 409}
    # The event trail names the same records in the same order.
    events = AuditEvent.objects.filter(
        id__gt=start,
        action__in=[AuditAction.CONSENT_GRANTED, AuditAction.CONSENT_WITHDRAWN],
    ).order_by("id")
    assert [int(e.object_id) for e in events] == [r.pk for r in records]
    assert [AuditAction(e.action).name for e in events] == [
        "CONSENT_GRANTED" if a == "grant" else "CONSENT_WITHDRAWN" for a in actions
    ]
    # The derived state is the last record's.
    state = {s.purpose.code: s.state for s in consent_states_for(alice)}["biometric_enrolment"]
    assert state == ("granted" if actions[-1] == "grant" else "withdrawn")


def test_simultaneous_identical_grants_record_only_one(alice):
    clients = [token_client(alice) for _ in range(4)]

    statuses = _in_threads(
        *(
            lambda c=c: c.post(CONSENTS, quote("face_swap"), format="json").status_code
            for c in clients
        )
    )

    assert sorted(statuses) == [201, 409, 409, 409]
    assert ConsentRecord.objects.filter(subject=alice).count() == 1


def test_a_writer_holding_the_gate_lock_is_erased_by_a_withdrawal_that_waited(
    alice, grant_consent, erasable_store
):
    grant_consent(alice, "biometric_enrolment")
    held: dict[int, int] = {}
    erasable_store("biometric_enrolment", held)
    checked = threading.Event()
    moments: dict[str, float] = {}

    def writer():
        with transaction.atomic():
            require_consent(subject=alice, purpose="biometric_enrolment", lock=True)
            checked.set()
            time.sleep(0.3)  # the withdrawal arrives now, and must wait
            held[alice.pk] = 1  # the data this writer stores under the consent
            moments["writer_committed"] = time.monotonic()

    def withdrawer():
        assert checked.wait(10)
        consent_withdraw(
            subject=alice,
            purpose="biometric_enrolment",
            evidence=ClientEvidence(method=ConsentRecord.Method.API),
        )
        moments["withdrawn"] = time.monotonic()

    _in_threads(writer, withdrawer)

    assert moments["withdrawn"] > moments["writer_committed"]
    assert held == {}  # what the writer stored was erased, not left behind
    with pytest.raises(ConsentRequired):
        require_consent(subject=alice, purpose="biometric_enrolment")


def test_a_locking_gate_check_outside_a_transaction_is_a_programming_error(alice, grant_consent):
    grant_consent(alice, "biometric_enrolment")

    with pytest.raises(RuntimeError, match="transaction.atomic"):
        require_consent(subject=alice, purpose="biometric_enrolment", lock=True)
