"""Staff pages and personal data: only the lookups a page offers, every search or filter that
touches a person audited, numbers masked everywhere (with an audited reveal for those allowed),
no number in any URL, no TOTP secret and no pseudonym <-> subject mapping on any admin page."""

from __future__ import annotations

import base64
import json
import re

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.actions import AuditAction
from audit.models import AuditEvent, SubjectPseudonym
from audit.services import audit_record
from consent.erasure.services import erasure_request
from consent.identity.models import User
from consent.identity.services import staff_view_record
from consent.reports.services import report_job_request
from tests.consent.identity.test_admin import admin_login
from tests.factories import StaffFactory, UserFactory
from tests.reports.conftest import staff_with_role

pytestmark = pytest.mark.django_db

USERS = reverse("admin:consent_user_changelist")
ALICE = "+447400100001"
# Every way the number could be written on a page: E.164, digits only, national, spaced.
ALICE_FORMS = ("7400100001", "7400 100001", "7400-100001", "07400100001")
ROLES = ("support", "dpo", "auditor", "superuser")


def find_url() -> str:
    return reverse("admin:consent_user_find")


def signed_in(user) -> Client:
    client = Client()
    assert admin_login(client, user, device=user.totp_device).status_code == 302
    return client


def staff_client(role: str) -> Client:
    if role == "superuser":
        return signed_in(StaffFactory(is_superuser=True))
    return signed_in(
        staff_with_role(
            role,
            {"support": "+447911000401", "dpo": "+447911000402", "auditor": "+447911000403"}[role],
        )
    )


@pytest.fixture(params=ROLES)
def role(request) -> str:
    return request.param


def events_since(start: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=start).order_by("id"))


def last_event_id() -> int:
    last = AuditEvent.objects.order_by("-id").first()
    return last.pk if last else 0


def assert_no_number(text: str) -> None:
    for form in ALICE_FORMS:
        assert form not in text, form


# --- only the lookups the admin offers ----------------------------------------------------------


UNOFFERED = [
    {"phone_number__startswith": "+4474"},
    {"phone_number__regex": r"^\+447400"},
    {"phone_number__contains": "7400"},
    {"phone_number__in": ALICE},
    {"phone_number": ALICE},
    {"sms_devices__phone_digest": "0" * 64},
    {"id__gt": "0"},
    {"password__startswith": "x"},
    {"no_such_field": "1"},
    {"o": "phone_number"},
    {"o": "99"},
    {"o": "1.x"},
    {"o": "\u00b2"},  # a digit to str.isdigit(), not to int()
    {"q": ALICE},
]


@pytest.mark.parametrize("params", UNOFFERED, ids=lambda p: "&".join(p))
@pytest.mark.parametrize("who", ["support", "dpo", "superuser"])
def test_the_user_list_refuses_every_lookup_it_does_not_offer(who, params, alice):
    client = staff_client(who)
    start = last_event_id()

    response = client.get(USERS, params)

    assert response.status_code == 400
    assert_no_number(response.content.decode())
    assert events_since(start) == []


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("dpo", "admin:consent_consentrecord_changelist"),
        ("support", "admin:biometrics_capture_changelist"),
        ("support", "admin:consent_reportjob_changelist"),
        ("support", "admin:consent_erasurerequest_changelist"),
        ("superuser", "admin:swap_swapjob_changelist"),
        ("superuser", "admin:audit_auditevent_changelist"),
    ],
)
def test_lists_that_name_people_refuse_lookups_through_the_subject(who, url, alice):
    client = staff_client(who)

    for params in (
        {"subject__phone_number__startswith": "+44"},
        {"subject__phone_number__regex": "^"},
        {"subject__sms_devices__phone_digest": "0" * 64},
        {"subject_id__in": "1,2"},
    ):
        assert client.get(reverse(url), params).status_code == 400, params


def test_offered_filters_work_and_each_filtered_list_is_audited_without_a_number(alice, bob):
    client = staff_client("support")
    start = last_event_id()

    plain = client.get(USERS)
    filtered = client.get(USERS, {"is_staff__exact": "0", "o": "-4"})

    assert plain.status_code == 200 and filtered.status_code == 200
    assert "+44 •••••••001" in filtered.content.decode()
    [event] = events_since(start)
    assert event.action_name == "STAFF_SEARCHED_SUBJECTS"
    assert json.loads(event.data_jcs) == {
        "list": "consent.user",
        "filters": ["is_staff__exact"],
        "results": 2,
    }


# --- finding a person by number: a POST, never a URL --------------------------------------------


def test_staff_find_a_person_by_number_through_a_post_and_no_url_holds_it(alice, bob):
    client = staff_client("support")
    start = last_event_id()

    found = client.post(find_url(), {"phone": "+44 7400 100001"})
    page = client.get(found["Location"])

    assert found.status_code == 302
    assert found["Location"] == reverse("admin:consent_user_change", args=[alice.pk])
    assert_no_number(found["Location"])
    assert page.status_code == 200
    assert_no_number(page.content.decode())
    searched, viewed = events_since(start)
    pseudonym = SubjectPseudonym.objects.get(subject_id=alice.pk).pseudonym
    assert searched.action_name == "STAFF_SEARCHED_SUBJECTS" and searched.subject == pseudonym
    assert json.loads(searched.data_jcs) == {"list": "consent.user", "by": "phone", "results": 1}
    assert viewed.action_name == "STAFF_VIEWED_SUBJECT" and viewed.subject == pseudonym


def test_a_number_that_finds_nobody_is_audited_and_goes_back_to_the_list(alice):
    client = staff_client("dpo")
    start = last_event_id()

    response = client.post(find_url(), {"phone": "+447400199999"}, follow=True)

    assert response.redirect_chain == [(USERS, 302)]
    assert "No account has this number." in response.content.decode()
    assert "7400199999" not in response.content.decode()
    [event] = events_since(start)
    assert event.action_name == "STAFF_SEARCHED_SUBJECTS" and event.subject == ""
    assert json.loads(event.data_jcs) == {"list": "consent.user", "by": "phone", "results": 0}


@pytest.mark.parametrize("phone", ["", "not a number", "+44 12", "[" * 500])
def test_a_bad_number_in_the_search_is_a_400_with_its_code(phone, alice):
    client = staff_client("support")
    start = last_event_id()

    response = client.post(find_url(), {"phone": phone})

    assert response.status_code == 400
    assert 'data-code="invalid_phone"' in response.content.decode()
    assert events_since(start) == []


def test_the_search_is_a_post_only_and_not_for_roles_without_the_user_list(alice):
    assert staff_client("support").get(find_url(), {"phone": ALICE}).status_code == 405
    assert staff_client("auditor").post(find_url(), {"phone": ALICE}).status_code == 403


def test_the_autocomplete_finds_nothing_anywhere(alice, grant_consent):
    client = staff_client("superuser")
    grant_consent(alice, "biometric_enrolment")
    pseudonym = SubjectPseudonym.objects.get(subject_id=alice.pk).pseudonym
    url = reverse("admin:autocomplete")

    for query in (
        {"app_label": "consent", "model_name": "consentrecord", "field_name": "subject",
         "term": ALICE},
        {"app_label": "audit", "model_name": "auditleaf", "field_name": "event",
         "term": pseudonym},
    ):  # fmt: skip
        response = client.get(url, query)
        assert response.status_code == 404, query
        assert_no_number(response.content.decode())
        assert pseudonym not in response.content.decode()


# --- masked on every page; an audited reveal for those allowed ----------------------------------


def test_the_user_page_masks_the_number(alice):
    for who in ("support", "dpo", "superuser"):
        page = staff_client(who).get(reverse("admin:consent_user_change", args=[alice.pk]))
        html = page.content.decode()
        assert page.status_code == 200
        assert "+44 •••••••001" in html
        assert_no_number(html)


@pytest.mark.parametrize(
    ("who", "allowed"), [("support", True), ("superuser", True), ("dpo", False), ("auditor", False)]
)
def test_revealing_a_number_is_a_post_for_those_allowed_and_is_audited(who, allowed, alice):
    client = staff_client(who)
    reveal = reverse("admin:consent_user_reveal", args=[alice.pk])
    start = last_event_id()

    page = client.get(reverse("admin:consent_user_change", args=[alice.pk])).content.decode()
    response = client.post(reveal)

    assert client.get(reveal).status_code == 405
    if not allowed:
        assert response.status_code == 403
        assert reveal not in page
        assert "STAFF_REVEALED_PHONE_NUMBER" not in [e.action_name for e in events_since(start)]
        return
    assert reveal in page  # the button
    assert response.status_code == 200
    assert "+44 7400 100001" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    event = events_since(start)[-1]
    assert event.action_name == "STAFF_REVEALED_PHONE_NUMBER"
    assert event.subject == SubjectPseudonym.objects.get(subject_id=alice.pk).pseudonym
    assert_no_number(event.data_jcs + event.object_id)


# --- every admin page, for every role -----------------------------------------------------------


@pytest.fixture
def world(alice, bob, policies, grant_consent, enrolled):
    """A person with a distinctive id, her consents, a capture, requests and audit events."""
    person = UserFactory(id=987_654_321, phone_number="+447400100003")
    grant_consent(person, "biometric_enrolment", "face_swap")
    enrolled(person)
    report_job_request(subject=person, language="en", events=0)
    erasure_request(subject=bob)
    with transaction.atomic():  # an earlier staff view: the log's page lists it
        staff_view_record(staff=StaffFactory(), subject=person)
    return person


def _admin_urls(world) -> list[str]:
    urls = []
    for model, _model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        urls += [
            reverse(f"admin:{info[0]}_{info[1]}_changelist"),
            reverse(f"admin:{info[0]}_{info[1]}_add"),
        ]
        for obj in model._default_manager.order_by("-pk")[:2]:
            for view in ("change", "history", "delete"):
                urls.append(reverse(f"admin:{info[0]}_{info[1]}_{view}", args=[obj.pk]))
    return urls + [reverse("admin:index")]


def _secrets() -> list[str]:
    keys = []
    for device in TOTPDevice.objects.all():
        keys += [device.key, base64.b32encode(device.bin_key).decode().rstrip("=")]
    return keys


def test_no_admin_page_shows_a_number_a_totp_key_or_a_pseudonym_with_its_subject(world, role):
    client = staff_client(role)
    viewer = User.objects.get(pk=client.session["_auth_user_id"])
    own_number = (str(viewer.phone_number)[3:], str(viewer.phone_number)[4:])  # not even theirs
    SubjectPseudonym.objects.get(subject_id=world.pk)  # the person has a pseudonym
    visited = 0

    for url in _admin_urls(world):
        # Followed: the auditor's admin index sends them on to /auditor/, checked too.
        response = client.get(url, follow=True)
        assert response.status_code in (200, 302, 403, 404), (url, response.status_code)
        html = response.content.decode()
        visited += response.status_code == 200
        for form in (*ALICE_FORMS, "7400100003", "7400 100003", *own_number):
            assert form not in html, (url, form)
        for secret in _secrets():
            assert secret.lower() not in html.lower(), url
        for mapping in SubjectPseudonym.objects.all():
            if mapping.pseudonym in html:
                assert f"user {mapping.subject_id}" not in html, url
                assert f"/user/{mapping.subject_id}/" not in html, url
                # The person's id is distinctive: anywhere on the page would be a mapping.
                assert str(world.pk) not in html or mapping.subject_id != world.pk, url
    assert visited >= (1 if role == "auditor" else 5)
    for event in AuditEvent.objects.all():
        assert_no_number(event.data_jcs + event.object_id + event.actor)


def test_the_totp_device_and_pseudonym_tables_are_not_in_the_admin():
    for name in (
        "admin:otp_totp_totpdevice_changelist",
        "admin:otp_totp_totpdevice_config",
        "admin:audit_subjectpseudonym_changelist",
    ):
        with pytest.raises(NoReverseMatch):
            reverse(name)


def test_the_consent_record_page_does_not_name_the_subject_s_pseudonym(alice, grant_consent):
    [record] = grant_consent(alice, "biometric_enrolment")
    pseudonym = SubjectPseudonym.objects.get(subject_id=alice.pk).pseudonym

    page = staff_client("dpo").get(reverse("admin:consent_consentrecord_change", args=[record.pk]))

    assert page.status_code == 200
    assert re.search(r"consentReceiptID", page.content.decode())
    assert pseudonym not in page.content.decode()


# --- a staff lookup leaves the number nowhere ---------------------------------------------------


def test_a_staff_lookup_by_number_stores_the_number_nowhere(alice):
    from tests.erasure.kit import database_hits, session_hits

    client = staff_client("support")
    stranger = "+447400199999"
    client.post(find_url(), {"phone": stranger}, follow=True)
    client.post(find_url(), {"phone": "+44 7400 100001"}, follow=True)

    forms = {
        stranger: ["7400199999", "7400 199999"],
        ALICE: list(ALICE_FORMS),
    }
    # The number nobody has is in no table and no session; Alice's only in her account row.
    assert database_hits([f.encode() for f in forms[stranger]]) == []
    assert database_hits([f.encode() for f in forms[ALICE]]) == ["consent_user.phone_number"]
    assert session_hits([f.encode() for f in forms[stranger] + forms[ALICE]]) == []


def test_the_log_page_hides_an_account_id_that_older_staff_views_wrote_beside_a_pseudonym():
    person = UserFactory(id=876_543_219)
    with transaction.atomic():  # as staff views were recorded before: the account id as object
        event = audit_record(
            actor=StaffFactory(),
            subject=person,
            action=AuditAction.STAFF_VIEWED_SUBJECT,
            object_type="user",
            object_id=str(person.pk),
        )
    client = staff_client("superuser")

    for url in (
        reverse("admin:audit_auditevent_changelist"),
        reverse("admin:audit_auditevent_change", args=[event.pk]),
    ):
        html = client.get(url).content.decode()
        assert event.subject in html and str(person.pk) not in html, url
    # Nor does a search by the account id find the pseudonym.
    found = client.get(reverse("admin:audit_auditevent_changelist"), {"q": str(person.pk)})
    assert found.status_code == 200 and event.subject not in found.content.decode()


def test_the_audit_log_filters_by_action_names_people_can_read(alice, grant_consent):
    grant_consent(alice, "face_swap")
    client = staff_client("superuser")
    url = reverse("admin:audit_auditevent_changelist")

    page = client.get(url).content.decode()
    granted = client.get(url, {"action": str(int(AuditAction.CONSENT_GRANTED))})

    assert "Consent granted" in page  # the filter's choices are names, not numbers
    assert f"?action={int(AuditAction.CONSENT_GRANTED)}" in page
    assert not re.search(r">\s*\d{3}\s*</a>", page)  # no bare action numbers
    assert granted.status_code == 200 and "CONSENT_GRANTED" in granted.content.decode()
