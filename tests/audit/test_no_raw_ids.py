"""No raw ids in the log: after a person's erasure, no event names them by their account's
primary key, in any column or anywhere in its data (invariant "pseudonymous-log",
docs/ARCHITECTURE.md). The person gets a distinctive primary key, so that a plain substring scan
of every event finds it wherever it was written (staff views included)."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from audit.services import audit_seal
from consent.erasure.models import ErasureRequest
from consent.erasure.services import erasure_request, erasure_run
from consent.identity.services import staff_phone_reveal, staff_subject_find, staff_view_record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

DISTINCT_PK = 987_654_321
COLUMNS = (
    "time",
    "actor",
    "subject",
    "object_type",
    "object_id",
    "purpose",
    "data_jcs",
    "request_id",
)


def test_after_erasure_no_event_holds_the_subjects_primary_key(staff, enrolled, grant_consent):
    person = UserFactory(id=DISTINCT_PK, phone_number="+447400100077")
    enrolled(person, captures=2)
    grant_consent(person, "face_swap")
    staff_view_record(staff=staff, subject=person)
    staff_subject_find(staff=staff, phone=str(person.phone_number))
    staff_phone_reveal(staff=staff, subject=person)
    request, _token = erasure_request(subject=person)
    erasure_run(request_id=request.pk)
    assert ErasureRequest.objects.get(pk=request.pk).certificate
    audit_seal()

    events = AuditEvent.objects.values_list("id", *COLUMNS)
    assert events.count() > 10
    hits = [
        (row[0], column)
        for row in events
        for column, value in zip(COLUMNS, row[1:], strict=True)
        if str(DISTINCT_PK) in str(value)
    ]
    assert hits == []
