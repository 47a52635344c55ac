"""Staff roles in the admin: support, dpo and auditor groups with exactly their permissions;
no biometric data on any admin page; every staff view of a person audited."""

from __future__ import annotations

import base64
import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import NoReverseMatch, reverse

from biometrics.models import Capture
from compliance_site import staff_roles
from consent.erasure.services import erasure_request
from consent.identity.services import staff_roles_sync
from consent.reports.models import ReportJob
from consent.reports.services import report_job_request
from tests.consent.identity.test_admin import admin_login
from tests.factories import StaffFactory
from tests.reports.conftest import staff_with_role

pytestmark = pytest.mark.django_db

USERS = reverse("admin:consent_user_changelist")


def signed_in(user) -> Client:
    client = Client()
    assert admin_login(client, user, device=user.totp_device).status_code == 302
    return client


def _held(group: Group) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


def test_the_apps_grant_each_role_exactly_these_permissions():
    """Each app grants its own permissions from its ready(); together, exactly these."""
    assert staff_roles.granted() == {
        "support": (
            "biometrics.view_capture",
            "consent.reveal_phone_number",
            "consent.view_erasurerequest",
            "consent.view_reportjob",
            "consent.view_user",
        ),
        "dpo": (
            "consent.add_impactassessment",
            "consent.add_policyversion",
            "consent.view_consentrecord",
            "consent.view_impactassessment",
            "consent.view_policyversion",
            "consent.view_purpose",
            "consent.view_user",
            "swap.add_depictedpersonconsent",
            "swap.add_depictedwithdrawalrequest",
            "swap.add_swaptemplate",
            "swap.add_templatelicence",
            "swap.view_depictedpersonconsent",
            "swap.view_depictedwithdrawalrequest",
            "swap.view_swaptemplate",
            "swap.view_templatelicence",
        ),
        "auditor": (),
    }


def test_each_role_group_holds_exactly_its_permissions_after_migrate():
    for role, wanted in staff_roles.granted().items():
        assert _held(Group.objects.get(name=role)) == set(wanted), role


def test_a_drifted_group_is_put_right_by_the_sync():
    support = Group.objects.get(name="support")
    support.permissions.add(Permission.objects.get(codename="view_consentrecord"))
    support.permissions.remove(Permission.objects.get(codename="view_user"))

    staff_roles_sync()

    assert _held(support) == set(staff_roles.permissions("support"))


def test_support_sees_subjects_masked_and_requests_but_cannot_publish(alice):
    support = signed_in(staff_with_role("support", "+447911000301"))

    index = support.get(reverse("admin:index")).content.decode()
    users = support.get(USERS).content.decode()

    assert reverse("admin:consent_erasurerequest_changelist") in index
    assert reverse("admin:consent_reportjob_changelist") in index
    assert "+44 •••••••001" in users and "7400100001" not in users
    assert support.get(reverse("admin:consent_policyversion_add")).status_code == 403
    assert support.get(reverse("admin:audit_auditevent_changelist")).status_code == 403


def test_support_sees_a_persons_consents_and_requests_on_their_record(alice, grant_consent):
    grant_consent(alice, "face_swap")
    report_job_request(subject=alice, language="en", events=10_000)
    support = signed_in(staff_with_role("support", "+447911000302"))

    record = support.get(reverse("admin:consent_user_change", args=[alice.pk])).content.decode()

    assert "face_swap: granted (version 2," in record and "output_storage: never" in record
    assert "1 data report (pending" in record
    assert "Superuser status" not in record  # a person's record, not a staff form
    assert "7400100001" not in record


def test_dpo_publishes_policies_and_may_add_templates(policies):
    dpo = signed_in(staff_with_role("dpo", "+447911000302"))

    assert dpo.get(reverse("admin:consent_policyversion_add")).status_code == 200
    try:
        template_add = reverse("admin:swap_swaptemplate_add")
    except NoReverseMatch:
        pytest.skip("the swap app registers no template admin yet")
    assert dpo.get(template_add).status_code == 200
    assert dpo.get(reverse("admin:consent_erasurerequest_changelist")).status_code == 403


def test_an_auditor_has_nothing_in_the_admin_and_lands_on_the_auditor_page(auditor, alice):
    client = signed_in(auditor)

    index = client.get(reverse("admin:index"))

    # Not "You don't have permission to view anything": the role's own page.
    assert index.status_code == 302 and index["Location"] == reverse("audit:auditor")
    assert client.get(index["Location"]).status_code == 200
    assert client.get(USERS).status_code == 403
    assert client.get(reverse("admin:biometrics_capture_changelist")).status_code == 403


# --- no biometric data on any admin page --------------------------------------------------------


@pytest.fixture
def superstaff() -> Client:
    return signed_in(StaffFactory(is_superuser=True))


def test_the_capture_admin_never_shows_biometric_data(alice, enrolled, superstaff, audit_events):
    [capture] = enrolled(alice)
    capture = Capture.objects.get(pk=capture.pk)
    secret_bytes = [bytes(capture.embedding), bytes(capture.landmarks)]

    pages = [
        superstaff.get(reverse("admin:biometrics_capture_changelist")),
        superstaff.get(reverse("admin:biometrics_capture_change", args=[capture.pk])),
    ]

    for response in pages:
        assert response.status_code == 200
        html = response.content.decode()
        # No image but the admin's own icons (the yes/no of "liveness passed").
        assert re.findall(r'<img[^>]*src="([^"]*)"', html) == [
            src
            for src in re.findall(r'<img[^>]*src="([^"]*)"', html)
            if src.startswith("/static/admin/img/")
        ]
        assert "data:image" not in html
        assert capture.photo not in html and "/media/" not in html
        assert "embedding" not in html.lower() and "landmark" not in html.lower()
        assert "scores" not in html
        for raw in secret_bytes:
            assert raw[:16].hex() not in html
            assert base64.b64encode(raw[:18]).decode() not in html
    assert "turn_left, blink" in pages[1].content.decode()  # what staff may see
    # Opening the capture is a view of its subject; the list is not.
    assert audit_events()[-1:] == [("STAFF_VIEWED_SUBJECT", {})]
    assert [name for name, _d in audit_events()].count("STAFF_VIEWED_SUBJECT") == 1


def test_key_and_challenge_tables_are_not_in_the_admin():
    for name in (
        "admin:biometrics_subjectkey_changelist",
        "admin:biometrics_livenesschallenge_changelist",
    ):
        with pytest.raises(NoReverseMatch):
            reverse(name)


# --- every staff view of a person is audited ----------------------------------------------------


def test_finding_a_person_by_number_is_a_view_of_them(alice, bob, superstaff, audit_events):
    superstaff.get(USERS)  # the list of masked numbers names nobody
    assert audit_events() == []

    superstaff.post(reverse("admin:consent_user_find"), {"phone": "+447400100001"}, follow=True)

    searched, viewed = audit_events()
    assert searched == (
        "STAFF_SEARCHED_SUBJECTS",
        {"list": "consent.user", "by": "phone", "results": 1},
    )
    assert viewed == ("STAFF_VIEWED_SUBJECT", {})
    from audit.models import AuditEvent, SubjectPseudonym

    last = AuditEvent.objects.order_by("-id").first()
    assert last.subject == SubjectPseudonym.objects.get(subject_id=alice.pk).pseudonym


def test_opening_a_report_job_or_an_erasure_request_is_audited(
    alice, bob, superstaff, audit_events, policies
):
    job = report_job_request(subject=alice, language="en", events=0)
    erasure, _token = erasure_request(subject=bob)  # stays pending: the test never commits
    start = len(audit_events())

    for url in (
        reverse("admin:consent_reportjob_change", args=[job.pk]),
        reverse("admin:consent_erasurerequest_change", args=[erasure.pk]),
    ):
        assert superstaff.get(url).status_code == 200

    assert [name for name, _data in audit_events()[start:]] == ["STAFF_VIEWED_SUBJECT"] * 2


def test_requests_are_read_only_in_the_admin(alice, superstaff, policies):
    job = report_job_request(subject=alice, language="en", events=0)

    change = superstaff.post(reverse("admin:consent_reportjob_change", args=[job.pk]), {})
    delete = superstaff.post(
        reverse("admin:consent_reportjob_delete", args=[job.pk]), {"post": "yes"}
    )

    assert change.status_code == 403 and delete.status_code == 403
    assert ReportJob.objects.filter(pk=job.pk).exists()
