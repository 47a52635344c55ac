"""Audit log benchmark (PostgreSQL): append, seal and verification speed, proof latency.

    .venv/bin/python bench/audit_bench.py

(a) audit.append_ratio: events/s through ``audit_record`` (one event per transaction, as
    callers do) with 1, 2 and 4 writer processes, each against plain INSERTs of the same rows
    into an unconstrained table by the same processes, taking turns every 0.2 s (the worst of
    the three).
(b) audit.seal_ratio: events/s that one ``audit_seal`` gives their leaves, nodes and signed
    checkpoint (the events (a) left unsealed), against the 4-writer append rate: ≥ 5 means one
    sealer keeps up.
(c) audit.inclusion_proof_ms: median inclusion-proof time at ≥ 1,000,000 leaves (bulk-loaded
    once with COPY, then kept in the benchmark database).
(d) audit.verify_ratio: ``audit_log_verify`` events/s (every leaf rebuilt from its stored
    columns) against a baseline measured in the same run: the same rows read with COPY and
    every leaf and interior SHA-256 computed in Python.
(e) audit.offline_verify_s: ``verify_audit.py`` on an export of the whole log (≥ 1,000,000
    events), in seconds, in a fresh interpreter: the median of three runs.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime

from _common import figure, merge_results, setup_django, timed

APPEND_SECONDS = float(os.environ.get("AUDIT_BENCH_APPEND_SECONDS", "3"))
PROOF_TREE_SIZE = 1_000_000
APPEND_ROUNDS = int(os.environ.get("AUDIT_BENCH_APPEND_ROUNDS", "3"))
SLICE = 0.2  # seconds of one kind of INSERT before the other's turn (an even number per run)
VERIFY_ROUNDS = int(os.environ.get("AUDIT_BENCH_VERIFY_ROUNDS", "3"))
OFFLINE_ROUNDS = 3  # fresh verifier processes; the median is the figure
PLAIN_TABLE = "bench_plain_audit_event"
ROW = {
    "object_type": "capture",
    "object_id": "4711",
    "purpose": "biometric_enrolment",
    "data": {"step": "created", "count": 3},
}


def _writer(start: float, seconds: float, subject_id: int, queue) -> None:
    """Alternate ``audit_record`` and the plain INSERT in SLICE-long turns, switching at the
    same wall-clock instants in every writer: both kinds then meet the same load from the rest of
    the machine, which on a shared machine varies more from second to second than they differ."""
    from django.db import connection, transaction
    from django.utils import timezone

    from audit.actions import AuditAction
    from audit.services import audit_record
    from consent.identity.models import User

    subject = User.objects.get(pk=subject_id)
    plain_sql = (
        f"INSERT INTO {PLAIN_TABLE} (time, actor, subject, action, object_type, object_id, "
        "purpose, data_jcs, request_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    counts = {"audit": 0, "plain": 0}
    while time.time() < start:
        time.sleep(0.001)
    with connection.cursor() as cursor:
        while (now := time.time()) < start + seconds:
            kind = "audit" if int((now - start) / SLICE) % 2 else "plain"
            if kind == "audit":
                with transaction.atomic(durable=True):
                    audit_record(actor=subject, subject=subject, action=AuditAction.LOGIN, **ROW)
            else:  # the same row, one plain INSERT in its own transaction
                with transaction.atomic(durable=True):
                    cursor.execute(
                        plain_sql,
                        [
                            timezone.now(),
                            "subject:0123456789abcdef0123456789abcdef",
                            "0123456789abcdef0123456789abcdef",
                            208,
                            ROW["object_type"],
                            ROW["object_id"],
                            ROW["purpose"],
                            '{"count":3,"step":"created"}',
                            "",
                        ],
                    )
            counts[kind] += 1
    connection.close()
    queue.put(counts)


def _rates(writers: int, subject_id: int) -> tuple[float, float]:
    """(audited, plain) events/s of ``writers`` processes taking turns (see ``_writer``)."""
    from django.db import connections

    connections.close_all()  # children must not share the parent's connection
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start = time.time() + 0.5  # every writer connected and waiting before the first turn
    procs = [
        context.Process(target=_writer, args=(start, APPEND_SECONDS, subject_id, queue))
        for _ in range(writers)
    ]
    for proc in procs:
        proc.start()
    counts = [queue.get(timeout=APPEND_SECONDS + 60) for _ in procs]
    for proc in procs:
        proc.join()
    half = APPEND_SECONDS / 2  # each kind had every other turn
    return sum(c["audit"] for c in counts) / half, sum(c["plain"] for c in counts) / half


def bench_append() -> dict:
    from django.db import connection

    from consent.identity.models import User

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {PLAIN_TABLE} (id bigserial, time timestamptz, "
            "actor text, subject text, action int, object_type text, object_id text, "
            "purpose text, data_jcs text, request_id text)"
        )
        cursor.execute(f"TRUNCATE {PLAIN_TABLE}")
    subject, _ = User.objects.get_or_create(phone_number="+447700900555")
    figures, ratios = {}, []
    for writers in (1, 2, 4):
        # APPEND_ROUNDS runs of alternating turns, medians compared.
        plains, auditeds = [], []
        for _ in range(APPEND_ROUNDS):
            audited, plain = _rates(writers, subject.pk)
            plains.append(plain)
            auditeds.append(audited)
        plain, audited = statistics.median(plains), statistics.median(auditeds)
        ratios.append(audited / plain)
        figures[f"audit.append_events_per_s_{writers}w"] = figure(
            audited, "events/s", plain, "ratio ≥ 0.7"
        )
        print(f"append, {writers} writer(s): audit_record {audited:.0f}/s, plain {plain:.0f}/s")
    worst = min(ratios)
    figures["audit.append_ratio"] = figure(worst, "ratio", None, "≥ 0.7 (worst of 1/2/4)")
    figures["audit.append_ratio"]["ratio"] = round(worst, 4)
    return figures


def _bulk_load_to(size: int) -> None:
    """Append bulk events and their leaves/nodes with COPY, then sign a checkpoint."""
    from django.db import connection, transaction

    from audit import services
    from audit.leaves import leaf_bytes, leaf_hash
    from audit.models import AuditCheckpoint

    services.audit_seal()
    latest = AuditCheckpoint.objects.order_by("-id").first()
    start = latest.tree_size if latest else 0
    if start >= size:
        return
    print(f"bulk-loading leaves {start}..{size - 1} (once per benchmark database)…", flush=True)
    moment, count = datetime.now(UTC), size - start
    columns = "time, actor, subject, action, object_type, object_id, purpose, data_jcs, request_id"
    with transaction.atomic(durable=True):
        services._take_sealer_lock()
        raw = connection.cursor().cursor
        with connection.cursor() as cursor:
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM audit_auditevent")
            first_id = cursor.fetchone()[0] + 1
        with raw.copy(f"COPY audit_auditevent ({columns}) FROM STDIN") as copy:
            for n in range(count):
                copy.write_row((moment, "system", "", 103, "bench", str(n), "", "{}", ""))
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM audit_auditevent WHERE id >= %s ORDER BY id", [first_id])
            ids = [row[0] for row in cursor.fetchall()]
        tree = services._tree_edge(start)
        leaf_rows, node_rows = [], []
        for n, event_id in enumerate(ids):
            digest = leaf_hash(
                leaf_bytes(
                    index=tree.size,
                    time=moment,
                    actor="system",
                    subject="",
                    action=103,
                    object_type="bench",
                    object_id=str(n),
                    purpose="",
                    data_jcs="{}",
                    request_id="",
                )
            )
            leaf_rows.append((tree.size, event_id, digest))
            node_rows.extend(tree.append(digest))
        with raw.copy('COPY audit_auditleaf ("index", event_id, leaf_hash) FROM STDIN') as copy:
            for row in leaf_rows:
                copy.write_row(row)
        with raw.copy("COPY audit_auditnode (level, idx, hash) FROM STDIN") as copy:
            for row in node_rows:
                copy.write_row(row)
        horizon = latest.seal_horizon if latest else 0
        services._checkpoint_issue(tree_size=tree.size, root=tree.root(), horizon=horizon)


def bench_inclusion_proof() -> dict:
    from audit.selectors import inclusion_proof, sealed_size

    _bulk_load_to(PROOF_TREE_SIZE)
    size = sealed_size()
    rng = random.Random(7)
    inclusion_proof(index=0, tree_size=size)  # warm the connection
    samples = []
    for _ in range(300):
        index = rng.randrange(size)
        with timed() as elapsed:
            proof = inclusion_proof(index=index, tree_size=size)
        samples.append(elapsed() * 1000)
        assert proof["audit_path"]
    median = statistics.median(samples)
    p95 = statistics.quantiles(samples, n=20)[-1]
    print(f"inclusion proof at {size} leaves: median {median:.2f} ms, p95 {p95:.2f} ms")
    return {"audit.inclusion_proof_ms": figure(median, "ms", None, f"< 5 ms at {size} leaves")}


def _baseline_copy_hash_rate() -> tuple[int, float]:
    """The same rows read with COPY (as stored), and every leaf and interior SHA-256."""
    from audit.copy_rows import COLUMNS_SQL, copy_lines

    sha = hashlib.sha256
    stack: list[bytes] = []
    count = 0
    with timed() as elapsed:
        for line in copy_lines(COLUMNS_SQL):
            digest = sha(b"\x00" + line.encode()).digest()
            size = count
            while size & 1:
                digest = sha(b"\x01" + stack.pop() + digest).digest()
                size >>= 1
            stack.append(digest)
            count += 1
    return count, count / elapsed()


def bench_verify() -> dict:
    """Verification and its baseline alternate, VERIFY_ROUNDS times each; the medians are
    compared (on a shared machine one run of either can be twice as slow as the next)."""
    from audit.services import audit_seal
    from audit.verification import audit_log_verify

    audit_seal()
    rates, baselines = [], []
    for _ in range(VERIFY_ROUNDS):
        with timed() as elapsed:
            result = audit_log_verify()
        assert result.ok, result.problems[:3]
        rates.append(result.tree_size / elapsed())
        hashed, baseline = _baseline_copy_hash_rate()
        assert hashed == result.tree_size
        baselines.append(baseline)
    rate, baseline = statistics.median(rates), statistics.median(baselines)
    print(
        f"verify: {result.tree_size} events, median {rate:.0f}/s "
        f"({', '.join(f'{r:.0f}' for r in rates)}); COPY and every SHA-256 alone, median "
        f"{baseline:.0f}/s ({', '.join(f'{b:.0f}' for b in baselines)})"
    )
    return {"audit.verify_ratio": figure(rate, "events/s", baseline, "ratio ≥ 0.5")}


def bench_seal(append_4w: float) -> dict:
    """Seal what the append benchmark left unsealed, in one batch."""
    from audit.models import AuditEvent
    from audit.services import SEAL_BATCH_LIMIT, audit_seal

    pending = AuditEvent.objects.filter(leaf__isnull=True).count()
    with timed() as elapsed:
        checkpoint = audit_seal(limit=max(pending, SEAL_BATCH_LIMIT))
    assert checkpoint is not None
    rate = pending / elapsed()
    print(
        f"seal: {pending} events in {elapsed():.2f} s = {rate:.0f}/s (4 writers {append_4w:.0f}/s)"
    )
    return {"audit.seal_ratio": figure(rate, "events/s", append_4w, "ratio ≥ 5 (vs 4 writers)")}


def bench_offline_verify() -> dict:
    import subprocess
    import tempfile
    from pathlib import Path

    from django.core.management import call_command

    from audit.services import VERIFIER_PATH

    with tempfile.TemporaryDirectory(prefix="audit-bench-") as folder:
        bundle = Path(folder) / "audit.zip"
        with timed() as exporting:
            call_command("audit_export", "--output", str(bundle), verbosity=0)
        runs = []
        for _ in range(OFFLINE_ROUNDS):
            with timed() as elapsed:
                done = subprocess.run(
                    [sys.executable, "-I", str(VERIFIER_PATH), str(bundle)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
            assert done.returncode == 0, done.stderr
            runs.append(elapsed())
        first = done.stdout.splitlines()[0]
        median = statistics.median(runs)
        print(
            f"offline: export {exporting():.1f} s; verify_audit.py median {median:.2f} s "
            f"({', '.join(f'{r:.2f}' for r in runs)}): {first}"
        )
    return {"audit.offline_verify_s": figure(median, "s", None, "≤ 5 s for ≥ 1,000,000 events")}


def main() -> int:
    setup_django()
    from django.db import connection

    if connection.vendor != "postgresql":
        print("the audit benchmark measures PostgreSQL; set DATABASE_URL", file=sys.stderr)
        return 2
    figures = {}
    figures.update(bench_append())
    figures.update(bench_seal(figures["audit.append_events_per_s_4w"]["value"]))
    figures.update(bench_inclusion_proof())
    figures.update(bench_verify())
    figures.update(bench_offline_verify())
    merge_results(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
