"""Every data-subject request carries its legal deadline, one month from receipt (GDPR Art.
12(3)): staff see it in their queue with the days left, and overdue or late requests are flagged
there and in the auditor's summary. Requests are made through the real services with the clock
moved: one answered on time, one still open past its deadline, one answered late."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from audit.services import audit_seal
from compliance_site.deadlines import request_due, request_status
from consent.erasure.models import ErasureRequest
from consent.erasure.services import erasure_request, erasure_run
from consent.reports.models import ReportJob
from consent.reports.services import report_job_request
from tests.factories import admin_signed_in
from tests.reports.conftest import AUDIT_EXPORT_URL, EXPORT_JSON_URL, pdf_text, staff_with_role
from tests.reports.test_auditor import signed_in, unpack

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (datetime(2026, 1, 31, 9, 0, tzinfo=UTC), datetime(2026, 2, 28, 9, 0, tzinfo=UTC)),
        (datetime(2028, 1, 31, 9, 0, tzinfo=UTC), datetime(2028, 2, 29, 9, 0, tzinfo=UTC)),
        (datetime(2026, 12, 15, 9, 0, tzinfo=UTC), datetime(2027, 1, 15, 9, 0, tzinfo=UTC)),
        (datetime(2026, 3, 10, 9, 0, tzinfo=UTC), datetime(2026, 4, 10, 9, 0, tzinfo=UTC)),
    ],
)
def test_the_deadline_is_one_calendar_month_or_that_months_last_day(received, due):
    assert request_due(received) == due
    assert request_status(received, None, due) == "open"
    assert request_status(received, None, due + timedelta(seconds=1)) == "overdue"
    assert request_status(received, due, due) == "within deadline"
    assert request_status(received, due + timedelta(seconds=1), due) == "late"


@pytest.fixture
def three_requests(time_machine, alice, bob, policies, api_for):
    """On T0 Alice asks for erasure and Bob for a report; Alice's erasure completes 35 days
    later (late); Bob's report is never made (overdue); on day 40 Carol exports her data (on
    time, answered at once)."""
    from tests.factories import UserFactory

    time_machine.move_to(T0, tick=False)
    erasure, _token = erasure_request(subject=alice)
    job = report_job_request(subject=bob, language="en", events=1)
    time_machine.move_to(T0 + timedelta(days=35), tick=False)
    erasure_run(request_id=erasure.pk)
    time_machine.move_to(T0 + timedelta(days=40), tick=False)
    carol = UserFactory(phone_number="+447400100003")
    assert api_for(carol).get(EXPORT_JSON_URL).status_code == 200
    audit_seal()
    return erasure, job


def test_the_auditor_summary_flags_the_late_and_the_overdue_and_passes_the_on_time(
    three_requests, auditor, tmp_path
):
    files = unpack(signed_in(auditor).get(AUDIT_EXPORT_URL).content, tmp_path / "b")

    requests = list(csv.DictReader(io.StringIO(files["requests.csv"].decode())))
    statuses = {r["kind"]: (r["status"], r["due"][:10]) for r in requests}
    assert statuses == {
        "erasure": ("late", "2026-02-28"),
        "access (report)": ("overdue", "2026-02-28"),
        "portability (json)": ("within deadline", "2026-04-12"),
    }
    summary = " ".join(pdf_text(files["summary.pdf"]).split())
    assert "Overdue (open past the deadline) 1" in summary and "Answered late 1" in summary
    assert "OVERDUE" in summary and "LATE" in summary


def test_staff_see_the_queue_with_days_left_and_flags(three_requests, time_machine):
    erasure, job = three_requests
    support = staff_with_role("support", "+447911000301")
    time_machine.move_to(T0 + timedelta(days=20), tick=False)
    fresh = ReportJob.objects.filter(pk=job.pk)
    client = admin_signed_in(support)

    reports = client.get("/admin/consent/reportjob/").content.decode()
    assert ">8<" in reports  # due 28 February, on 20 February: 8 days left
    assert "OVERDUE" not in reports

    time_machine.move_to(T0 + timedelta(days=40), tick=False)
    client = admin_signed_in(support)
    reports = client.get("/admin/consent/reportjob/").content.decode()
    erasures = client.get("/admin/consent/erasurerequest/").content.decode()
    assert "⚠ OVERDUE" in reports and fresh.get().completed_at is None
    assert "⚠ answered LATE" in erasures
    done = ErasureRequest.objects.get(pk=erasure.pk)
    assert done.completed_at - done.requested_at == timedelta(days=35)
