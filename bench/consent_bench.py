"""Consent gate benchmark (PostgreSQL by default): the gate against a primary-key lookup.

    .venv/bin/python bench/consent_bench.py

consent.gate_ratio: ``require_consent`` checks per second (a granted subject, so the check
passes) against ``User.objects.get(pk=...)`` of the same subject, in the same run, in
alternating batches so that both see the same machine. Target ≥ 0.5: the gate runs on every
capture, use and deletion, so it should cost no more than two primary-key reads.
consent.gate_median_us: the median time of one gate check.
consent.gate_vs_raw_pk_ratio: the gate against the same primary-key read sent as raw SQL
(informational: how much of the lookup's cost is the ORM's, not the database's).
"""

from __future__ import annotations

import os
import statistics
import time

from _common import figure, merge_results, setup_django

SECONDS = float(os.environ.get("CONSENT_BENCH_SECONDS", "3"))
BATCH = 200
PHONE = "+447700900556"  # the benchmark's own subject
PURPOSE = "biometric_enrolment"


def _age_stated(subject) -> None:
    """The age step comes before any grant (an adult's year of birth)."""
    from consent.ledger.models import ConsentRecord
    from consent.ledger.selectors import ClientEvidence, age_stated
    from consent.ledger.services import age_state

    if not age_stated(subject):
        evidence = ClientEvidence(method=ConsentRecord.Method.API)
        age_state(subject=subject, birth_year=1990, evidence=evidence)


def _subject():
    from consent.identity.models import User
    from consent.ledger.gate import ConsentRequired, require_consent
    from consent.ledger.models import ConsentRecord, PolicyText, Purpose
    from consent.ledger.selectors import ClientEvidence
    from consent.ledger.services import consent_grant

    subject, _ = User.objects.get_or_create(phone_number=PHONE)
    _age_stated(subject)
    try:
        require_consent(subject=subject, purpose=PURPOSE)
    except ConsentRequired:
        text = PolicyText.objects.get(
            policy=Purpose.objects.get(code=PURPOSE).current_version, language="en"
        )
        consent_grant(
            subject=subject,
            purpose=PURPOSE,
            version=text.policy.version,
            sha256=text.sha256,
            evidence=ClientEvidence(method=ConsentRecord.Method.API),
        )
    return subject


def _batch(call, timings: list[float]) -> None:
    for _ in range(BATCH):
        start = time.perf_counter()
        call()
        timings.append(time.perf_counter() - start)


def main() -> None:
    setup_django()
    from django.db import connection

    from consent.identity.models import User
    from consent.ledger.gate import require_consent

    subject = _subject()
    subject_id = subject.pk

    def gate():
        require_consent(subject=subject_id, purpose=PURPOSE)

    def lookup():
        User.objects.get(pk=subject_id)

    sql = f"SELECT * FROM {User._meta.db_table} WHERE id = %s"  # noqa: S608 - a model's table

    def raw_lookup():
        with connection.cursor() as cursor:
            cursor.execute(sql, [subject_id])
            cursor.fetchone()

    calls = {"gate": gate, "lookup": lookup, "raw": raw_lookup}
    times: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():  # warm up connections and caches
        _batch(call, [])
    deadline = time.perf_counter() + 3 * SECONDS
    while time.perf_counter() < deadline:
        for name, call in calls.items():
            _batch(call, times[name])
    rate = {name: len(t) / sum(t) for name, t in times.items()}
    gate_rate, lookup_rate = rate["gate"], rate["lookup"]
    median_us = statistics.median(times["gate"]) * 1e6
    print(
        f"gate {gate_rate:.0f}/s (median {median_us:.0f} µs), primary-key lookup "
        f"{lookup_rate:.0f}/s through the ORM, {rate['raw']:.0f}/s as raw SQL; "
        f"{len(times['gate'])} checks"
    )
    ratio = gate_rate / lookup_rate
    gate_ratio = figure(ratio, "ratio", None, "≥ 0.5 (gate vs primary-key lookup)")
    gate_ratio["ratio"] = round(ratio, 4)
    merge_results(
        {
            "consent.gate_checks_per_s": figure(gate_rate, "checks/s", lookup_rate, "ratio ≥ 0.5"),
            "consent.gate_ratio": gate_ratio,
            "consent.gate_median_us": figure(median_us, "µs", None, "one indexed query"),
            # The same lookup without the ORM's query building: the database's share alone.
            "consent.gate_vs_raw_pk_ratio": figure(
                gate_rate / rate["raw"], "ratio", None, "informational"
            ),
        }
    )


if __name__ == "__main__":
    main()
