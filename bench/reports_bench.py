"""User-data report benchmark (PostgreSQL by default): a subject with 10,000 audit events and
200 swaps.

    .venv/bin/python bench/reports_bench.py

reports.user_pdf_s: ``consent.reports.services.report_generate`` for that subject: every store's
export, the 10,000 events read and laid out, the whole PDF (page numbers, repeated headers), and its
audit event. (Over ``REPORT_ASYNC_EVENTS`` the service hands this very work to a worker; the
request itself then only queues a job.) Target < 3 s.
Baseline: reportlab alone rendering the same 10,000 event rows as one table (same columns,
widths, fixed row height, repeated header) with no data reads and nothing else on the pages.
The ratio is the cost of everything our layer adds: reading the data, the other sections,
page x of y.

The rows are created directly (not through the services): events as audit rows naming the
subject's pseudonym; swaps as swap jobs of one template when the swap app has them, or else as
a simulated ``swap.jobs`` store registered for the run (its export returns 200 rows).
"""

from __future__ import annotations

import io
import json
import statistics
import uuid
from datetime import timedelta

from _common import figure, merge_results, setup_django, timed

PHONE = "+447700900557"  # the benchmark's own subject
EVENTS = 10_000
SWAPS = 200
RUNS = 3


def _subject():
    from audit.services import pseudonym_for
    from consent.identity.models import User

    subject, _ = User.objects.get_or_create(phone_number=PHONE)
    return subject, pseudonym_for(subject)


def _events(pseudonym: str) -> None:
    """Top the subject up to EVENTS audit events (one bulk insert, not 10,000 services)."""
    from django.utils import timezone

    from audit.actions import AuditAction
    from audit.models import AuditEvent

    missing = EVENTS - AuditEvent.objects.filter(subject=pseudonym).count()
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        (
            AuditEvent(
                time=now - timedelta(seconds=n),
                actor=f"subject:{pseudonym}",
                subject=pseudonym,
                action=int(AuditAction.LOGIN),
                data_jcs=json.dumps({"channel": "api"}, separators=(",", ":")),
            )
            for n in range(max(missing, 0))
        ),
        batch_size=2000,
    )


def _swaps(subject) -> str:
    """SWAPS swap jobs for the subject: real rows when the swap app exists, else a simulated
    store in the report's input. Returns which."""
    try:
        from swap.models import SwapJob, SwapTemplate
    except ImportError:
        _simulated_swap_store()
        return "simulated"
    template, _ = SwapTemplate.objects.get_or_create(
        title="Benchmark template",
        defaults={
            "kind": "image",
            "file": "templates/bench.png",
            "poster": "templates/bench.jpg",
            "sha256": "0" * 64,
            "size_bytes": 1,
            "width": 1,
            "height": 1,
        },
    )
    from django.utils import timezone

    missing = SWAPS - SwapJob.objects.filter(subject=subject).count()
    now = timezone.now()
    SwapJob.objects.bulk_create(
        SwapJob(
            subject=subject,
            template=template,
            kind="image",
            status="done",
            progress=100,
            finished_at=now,
            expires_at=now + timedelta(days=1),
        )
        for _ in range(max(missing, 0))
    )
    return "swap app"


def _simulated_swap_store() -> None:
    from compliance_site import inventory

    rows = [
        {
            "id": str(uuid.uuid4()),
            "template": "Benchmark template",
            "status": "done",
            "created_at": "2026-11-26T12:00:00+00:00",
            "finished_at": "2026-11-26T12:00:05+00:00",
            "expires_at": "2026-11-27T12:00:00+00:00",
        }
        for _ in range(SWAPS)
    ]
    inventory.register(
        inventory.Store(
            name="swap.jobs",
            what="Swaps (simulated for the benchmark)",
            why="Benchmark",
            retention="—",
            legal_basis="—",
            locate=lambda subject_id: [],
            export=lambda subject_id: rows,
            erase=lambda subject_id: 0,
            band=inventory.Band.DERIVED,
        )
    )


def _baseline(pseudonym: str) -> float:
    """reportlab only: the same event rows as one repeated-header table, nothing else."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate, Table, TableStyle

    from audit.selectors import subject_events
    from compliance_site.pdf import PAGED_ROW
    from consent.reports import pdf as report_pdf

    events = subject_events(pseudonym)
    rows = [["#", "Time", "Event", "By", "Details"]] + [
        [str(e["index"]), e["time"][:19], e["action_name"], "you", json.dumps(e["data"])]
        for e in events
    ]
    with timed() as elapsed:
        document = SimpleDocTemplate(io.BytesIO(), pagesize=A4)
        table = Table(
            rows,
            colWidths=list(report_pdf._EVENT_WIDTHS),
            rowHeights=[14] + [PAGED_ROW] * (len(rows) - 1),
            repeatRows=1,
        )
        table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), "Helvetica", 7)]))
        document.build([table])
    return elapsed()


def main() -> None:
    setup_django()
    from audit.services import audit_seal
    from consent.reports.services import report_generate

    subject, pseudonym = _subject()
    _events(pseudonym)
    audit_seal()  # as the beat task does every few seconds: the events get their indexes
    swaps = _swaps(subject)
    report_generate(subject=subject, language="en")  # warm-up: fonts, imports, caches

    ours, baseline, size = [], [], 0
    for _ in range(RUNS):
        with timed() as elapsed:
            size = len(report_generate(subject=subject, language="en"))
        ours.append(elapsed())
        baseline.append(_baseline(pseudonym))
    value, base = statistics.median(ours), statistics.median(baseline)
    print(f"{EVENTS} events, {SWAPS} swaps ({swaps}); PDF {size / 1e6:.1f} MB")
    merge_results(
        {"reports.user_pdf_s": figure(value, "s", base, "< 3 s; ratio vs bare reportlab table")}
    )


if __name__ == "__main__":
    main()
