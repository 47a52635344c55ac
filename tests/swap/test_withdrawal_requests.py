"""A depicted person's withdrawal that reaches staff (a letter, an email, a call) is a
data-subject request like the others: the DPO logs it in the admin with when it arrived, it is
due one month later (``compliance_site.deadlines``), the queue shows the days left and flags
overdue and late ones, carrying it out is the withdrawal staff record (which closes it), and the
auditor summary counts it. Everything goes through the admin, with the clock moved: one request
answered on time, one left open past its deadline, one answered late."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from audit.services import audit_seal
from swap.models import DepictedPersonConsent, DepictedWithdrawalRequest
from tests.factories import admin_signed_in
from tests.reports.conftest import AUDIT_EXPORT_URL, pdf_text, staff_with_role
from tests.reports.test_auditor import signed_in, unpack
from tests.swap.jobkit import make_template

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
QUEUE = "/admin/swap/depictedwithdrawalrequest/"
WITHDRAWALS_API = "/api/v1/depicted-withdrawals"


def log_request(client, template, received: datetime):
    return client.post(
        f"{QUEUE}add/",
        {
            "template": str(template.pk),
            "requested_at_0": received.strftime("%Y-%m-%d"),
            "requested_at_1": received.strftime("%H:%M:%S"),
            "channel": "post",
            "note": "letter filed as DW-7",
        },
    )


def carry_out(client, row):
    return client.post(QUEUE, {"action": "carry_out", "_selected_action": [str(row.pk)]})


@pytest.fixture
def dpo(db):
    return staff_with_role("dpo", "+447911000401")


@pytest.fixture
def three_requests(time_machine, dpo):
    """Three depicted persons write on T0; the DPO logs the letters two days later. The first
    withdrawal is carried out on day 10 (on time), the third on day 35 (late), the second never
    (overdue)."""
    time_machine.move_to(T0, tick=False)
    templates = [make_template("image", title=f"Template {n}") for n in range(3)]
    time_machine.move_to(T0 + timedelta(days=2), tick=False)
    client = admin_signed_in(dpo)
    for template in templates:
        assert log_request(client, template, T0).status_code == 302
    on_time, overdue, late = (DepictedWithdrawalRequest.objects.get(template=t) for t in templates)
    time_machine.move_to(T0 + timedelta(days=10), tick=False)
    assert carry_out(admin_signed_in(dpo), on_time).status_code == 302
    time_machine.move_to(T0 + timedelta(days=35), tick=False)
    assert carry_out(admin_signed_in(dpo), late).status_code == 302
    return on_time, overdue, late


def test_a_request_carried_out_on_time_is_closed_and_audited(three_requests):
    on_time, overdue, late = (row.__class__.objects.get(pk=row.pk) for row in three_requests)

    assert on_time.requested_at == T0 and on_time.completed_at == T0 + timedelta(days=10)
    assert late.completed_at == T0 + timedelta(days=35) and overdue.completed_at is None
    withdrawn = DepictedPersonConsent.objects.get(template=on_time.template)
    assert withdrawn.withdrawn_at == on_time.completed_at  # one transaction, one moment
    assert DepictedPersonConsent.objects.get(template=overdue.template).withdrawn_at is None
    logged = AuditEvent.objects.filter(action=507, object_id=str(on_time.pk)).get()
    assert logged.data["received_at"] == "2026-01-31T09:00:00.000000Z"
    assert logged.data["channel"] == "post" and "DW-7" not in str(logged.data)
    closed = AuditEvent.objects.filter(action=504, object_id=str(on_time.template_id)).get()
    assert closed.data["requests"] == [on_time.pk] and closed.data["by"] == "staff"


def test_staff_see_the_withdrawal_queue_with_days_left_and_flags(three_requests, time_machine):
    # Another DPO: the clock goes back to day 20, before the first one's last sign-in.
    dpo = staff_with_role("dpo", "+447911000403")
    time_machine.move_to(T0 + timedelta(days=20), tick=False)
    # Day 20: the first is done; the other two are due 28 February, 8 days left.
    queue = admin_signed_in(dpo).get(QUEUE).content.decode()
    assert queue.count(">8<") == 1 and "answered within the deadline" in queue
    assert "OVERDUE" not in queue

    time_machine.move_to(T0 + timedelta(days=40), tick=False)
    queue = admin_signed_in(dpo).get(QUEUE).content.decode()
    assert "⚠ OVERDUE" in queue and ">-12<" in queue
    assert "⚠ answered LATE" in queue
    # The queue: the open one first.
    assert queue.index("OVERDUE") < queue.index("answered LATE")


def test_the_auditor_summary_flags_overdue_and_late_withdrawals(
    three_requests, time_machine, tmp_path, policies
):
    time_machine.move_to(T0 + timedelta(days=40), tick=False)
    audit_seal()
    auditor = staff_with_role("auditor", "+447911000402")
    files = unpack(signed_in(auditor).get(AUDIT_EXPORT_URL).content, tmp_path / "b")

    rows = list(csv.DictReader(io.StringIO(files["requests.csv"].decode())))
    withdrawals = [r for r in rows if r["kind"] == "withdrawal (depicted person)"]
    on_time, overdue, late = three_requests
    assert {r["request"]: (r["status"], r["due"][:10]) for r in withdrawals} == {
        str(on_time.pk): ("within deadline", "2026-02-28"),
        str(overdue.pk): ("overdue", "2026-02-28"),
        str(late.pk): ("late", "2026-02-28"),
    }
    summary = " ".join(pdf_text(files["summary.pdf"]).split())
    assert "Overdue (open past the deadline) 1" in summary and "Answered late 1" in summary


def test_a_request_received_in_the_future_is_a_form_error(dpo):
    template = make_template("image")
    client = admin_signed_in(dpo)

    response = log_request(client, template, datetime.now(UTC) + timedelta(days=1))

    assert response.status_code == 400
    assert "cannot have arrived in the future" in response.content.decode()
    assert not DepictedWithdrawalRequest.objects.exists()
    assert not AuditEvent.objects.filter(action=507).exists()


def test_a_request_for_a_template_withdrawn_already_is_a_form_error(dpo):
    template = make_template("image")
    client = admin_signed_in(dpo)
    assert log_request(client, template, datetime.now(UTC)).status_code == 302
    [row] = DepictedWithdrawalRequest.objects.all()
    assert carry_out(client, row).status_code == 302

    response = log_request(client, template, datetime.now(UTC))

    assert response.status_code == 400 and "withdrawn already" in response.content.decode()
    assert DepictedWithdrawalRequest.objects.count() == 1


def test_the_person_withdrawing_with_their_secret_closes_the_request_too(dpo):
    template = make_template("image")
    assert log_request(admin_signed_in(dpo), template, datetime.now(UTC)).status_code == 302
    [row] = DepictedWithdrawalRequest.objects.all()

    secret = template.depicted_consent.withdrawal_secret
    response = APIClient().post(WITHDRAWALS_API, {"secret": secret}, format="json")

    assert response.status_code == 200
    row.refresh_from_db()
    assert row.completed_at is not None
    closed = AuditEvent.objects.filter(action=504, object_id=str(template.pk)).get()
    assert closed.data["requests"] == [row.pk] and closed.data["by"] == "depicted_person"
