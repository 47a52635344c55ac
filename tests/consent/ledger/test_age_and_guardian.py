"""The age step before the first grant, and the one-step guardian grant (PIPL Art. 31).

A year of birth is asked before the first grant of any purpose, and nothing more; under 14
goes straight to a parent or guardian, who states their relationship, proves their own number
with ONE code bound to the child and the chosen set of purposes, and grants them all at once,
without an account of their own (invariants "minimum-data" and "bound-codes",
docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
import time_machine
from django.apps import apps
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from consent.identity.models import User
from consent.ledger.gate import ConsentRequired, require_consent
from consent.ledger.models import AgeStatement, ConsentRecord, MinorDeclaration, Purpose
from consent.ledger.receipts import receipt_verify
from consent.ledger.selectors import ledger_export, minor_declared_on
from tests.conftest import assessment_seed
from tests.consent.conftest import last_code, quote, token_client, wrong
from tests.erasure.kit import phone_forms, raw_scan

pytestmark = pytest.mark.django_db

CONSENTS = "/api/v1/consents"
AGE = "/api/v1/consents/age"
GUARDIAN_REQUEST = "/api/v1/consents/guardian/request"
GUARDIAN_GRANT = "/api/v1/consents/guardian/grant"
PARENT = "+447400166666"  # a number with no account
PURPOSES = ("biometric_enrolment", "face_swap", "output_storage")


def _this_year() -> int:
    return timezone.localdate().year


@pytest.fixture
def newcomer(policies):
    """Signed in, has not answered the age step yet."""
    from tests.factories import UserFactory

    return UserFactory(phone_number="+447400100009", age_stated=False)


@pytest.fixture
def newcomer_api(newcomer):
    return token_client(newcomer)


@pytest.fixture
def child_api(newcomer_api):
    """A child who gave a year of birth making them 10 at the age step."""
    response = newcomer_api.post(AGE, {"year_of_birth": _this_year() - 10}, format="json")
    assert response.status_code == 201
    return newcomer_api


def _row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def _ask(client, *purposes: str, phone: str = PARENT):
    body = {"phone": phone, "purposes": list(purposes)}
    return client.post(GUARDIAN_REQUEST, body, format="json")


def _grant(client, code: str, *purposes: str, relationship: str = "parent", phone: str = PARENT):
    body = {
        "phone": phone,
        "code": code,
        "relationship": relationship,
        "consents": [quote(purpose) for purpose in purposes],
    }
    return client.post(GUARDIAN_GRANT, body, format="json")


# --- the age step -------------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", PURPOSES)
def test_no_grant_before_the_year_of_birth(newcomer, newcomer_api, purpose):
    before = _row_counts()

    response = newcomer_api.post(CONSENTS, quote(purpose), format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "age_required"
    assert _row_counts() == before


def test_14_or_over_keeps_only_the_fact_and_the_day_never_the_year(
    newcomer, newcomer_api, ledger_events
):
    year = _this_year() - 30

    response = newcomer_api.post(AGE, {"year_of_birth": year}, format="json")

    assert response.status_code == 201
    assert response.json() == {"under_14": False, "next": "grant"}
    statement = AgeStatement.objects.get(subject=newcomer)
    assert statement.stated_on == timezone.localdate()
    assert {f.name for f in AgeStatement._meta.concrete_fields} == {"id", "subject", "stated_on"}
    assert not MinorDeclaration.objects.filter(subject=newcomer).exists()
    assert str(year) not in json.dumps(ledger_export(newcomer.pk))
    assert [(name, data) for name, _p, data in ledger_events()] == [
        ("AGE_STATED", {"method": "api"})
    ]
    granted = newcomer_api.post(CONSENTS, quote("biometric_enrolment"), format="json")
    assert granted.status_code == 201


def test_under_14_goes_straight_to_the_guardian_flow(newcomer, newcomer_api, outbox):
    response = newcomer_api.post(AGE, {"year_of_birth": _this_year() - 10}, format="json")

    assert response.status_code == 201
    assert response.json() == {"under_14": True, "next": "guardian"}
    assert MinorDeclaration.objects.get(subject=newcomer).birth_year == _this_year() - 10
    alone = newcomer_api.post(CONSENTS, quote("face_swap"), format="json")
    assert alone.status_code == 403
    assert alone.json()["code"] == "guardian_required"
    assert _ask(newcomer_api, "face_swap").status_code == 202


@pytest.mark.parametrize(("age", "under_14"), [(13, True), (14, True), (15, False)])
def test_a_year_that_may_still_be_under_14_counts_as_under_14(newcomer_api, age, under_14):
    """Born in this year − 14, a person may be 13 until their birthday: the year alone cannot
    tell, and the law protects the child, so they go to a guardian until 1 January."""
    response = newcomer_api.post(AGE, {"year_of_birth": _this_year() - age}, format="json")

    assert response.json()["under_14"] is under_14


def test_a_childs_status_ends_once_they_are_certainly_14(newcomer, child_api):
    born = _this_year() - 10
    assert minor_declared_on(newcomer) is not None

    with time_machine.travel(date(born + 14, 12, 31), tick=False):
        assert minor_declared_on(newcomer) is not None
    with time_machine.travel(date(born + 15, 1, 1), tick=False):
        assert minor_declared_on(newcomer) is None
        # Five years on, the DPO has reviewed the purpose's impact assessment since.
        assessment_seed(Purpose.objects.get(code="face_swap"))
        granted = token_client(newcomer).post(CONSENTS, quote("face_swap"), format="json")
        assert granted.status_code == 201


@pytest.mark.parametrize(
    "year",
    [
        "abcd",
        "199",
        99,
        12345,
        "２０１０",  # full-width digits
        " 2010",
        -2010,
        True,
        None,
        [2010],
        {"year": 2010},
        2010.0,
        "future",
        "ancient",
    ],
)
def test_a_bad_year_of_birth_is_a_400_and_writes_nothing(newcomer, newcomer_api, year):
    if year in ("future", "ancient"):
        year = _this_year() + 1 if year == "future" else _this_year() - 121
    before = _row_counts()

    response = newcomer_api.post(AGE, {"year_of_birth": year}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] in ("invalid_year", "invalid")
    assert _row_counts() == before


def test_a_missing_year_is_a_400(newcomer_api):
    response = newcomer_api.post(AGE, {}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_a_client_can_ask_whether_to_show_the_age_step(newcomer_api):
    assert newcomer_api.get(AGE).json() == {"stated": False, "under_14": False}

    newcomer_api.post(AGE, {"year_of_birth": _this_year() - 10}, format="json")

    assert newcomer_api.get(AGE).json() == {"stated": True, "under_14": True}


def test_the_age_step_is_answered_once(newcomer_api):
    newcomer_api.post(AGE, {"year_of_birth": _this_year() - 30}, format="json")

    again = newcomer_api.post(AGE, {"year_of_birth": _this_year() - 10}, format="json")

    assert again.status_code == 409
    assert again.json()["code"] == "age_stated"


# --- the guardian -------------------------------------------------------------------------------


def test_one_code_grants_two_purposes_in_one_step(newcomer, child_api, outbox, ledger_events):
    assert _ask(child_api, "biometric_enrolment", "face_swap").status_code == 202
    assert len(outbox) == 1
    assert "Biometric enrolment" in outbox[0].body and "Face swap" in outbox[0].body
    start = len(ledger_events())

    response = _grant(child_api, last_code(outbox), "biometric_enrolment", "face_swap")

    assert response.status_code == 201
    receipts = response.json()["receipts"]
    assert [r["purposeCode"] for r in receipts] == ["biometric_enrolment", "face_swap"]
    records = ConsentRecord.objects.filter(subject=newcomer).order_by("id")
    assert [r.purpose.code for r in records] == ["biometric_enrolment", "face_swap"]
    assert len({r.guardian_pseudonym for r in records}) == 1
    for purpose in ("biometric_enrolment", "face_swap"):
        require_consent(subject=newcomer, purpose=purpose)
    with pytest.raises(ConsentRequired):
        require_consent(subject=newcomer, purpose="output_storage")
    names = [name for name, _p, _d in ledger_events()[start:]]
    assert names == ["OTP_VERIFIED", "CONSENT_GRANTED", "CONSENT_GRANTED"]


def test_a_code_for_one_purpose_is_refused_for_two(newcomer, child_api, outbox):
    _ask(child_api, "face_swap")

    response = _grant(child_api, last_code(outbox), "face_swap", "biometric_enrolment")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"
    assert not ConsentRecord.objects.filter(subject=newcomer).exists()


def test_no_account_is_made_for_the_guardian(child_api, outbox):
    users = User.objects.count()
    _ask(child_api, "face_swap", "output_storage")

    response = _grant(child_api, last_code(outbox), "face_swap", "output_storage")

    assert response.status_code == 201
    assert User.objects.count() == users
    assert not User.objects.filter(phone_number=PARENT).exists()


def test_the_guardians_number_is_nowhere_in_clear(child_api, outbox):
    _ask(child_api, *PURPOSES)
    assert _grant(child_api, last_code(outbox), *PURPOSES).status_code == 201

    needles = phone_forms(PARENT)
    rows = [json.dumps(list(row), default=str) for row in ConsentRecord.objects.values_list()]
    rows += [json.dumps(list(row), default=str) for row in AuditEvent.objects.values_list()]
    assert ConsentRecord.objects.count() == 3
    assert not [row for row in rows if any(n.decode() in row for n in needles)]
    # Nor anywhere else: every column of every table, sessions, files and the cache.
    assert raw_scan(needles) == []


@pytest.mark.parametrize("relationship", ["parent", "legal_guardian", "parental_responsibility"])
def test_each_receipt_states_the_guardians_relationship(newcomer, child_api, outbox, relationship):
    _ask(child_api, "face_swap", "output_storage")

    response = _grant(
        child_api, last_code(outbox), "face_swap", "output_storage", relationship=relationship
    )

    assert response.status_code == 201
    receipts = response.json()["receipts"]
    assert {r["guardianRelationship"] for r in receipts} == {relationship}
    assert all(receipt_verify(r) for r in receipts)  # the relationship is signed
    records = ConsentRecord.objects.filter(subject=newcomer)
    assert {r.guardian_relationship for r in records} == {relationship}
    pdf = child_api.get(f"{CONSENTS}/receipts/{receipts[0]['consentReceiptID']}.pdf")
    assert pdf.status_code == 200


def test_a_guardian_who_declared_themselves_under_14_is_refused(newcomer, child_api, bob, outbox):
    token_client(bob).post(f"{CONSENTS}/minor-declaration")
    _ask(child_api, "face_swap", phone=str(bob.phone_number))

    response = _grant(child_api, last_code(outbox), "face_swap", phone=str(bob.phone_number))

    assert response.status_code == 403
    assert response.json()["code"] == "guardian_is_minor"
    assert not ConsentRecord.objects.filter(subject=newcomer).exists()


def test_wrong_guardian_codes_lock_out_as_at_sign_in(newcomer, child_api, outbox, settings):
    settings.OTP_SMS_THROTTLE_FACTOR = 0
    _ask(child_api, "face_swap")
    code = last_code(outbox)

    answers = [
        _grant(child_api, wrong(code), "face_swap").json()["code"]
        for _ in range(settings.OTP_SMS_MAX_FAILURES)
    ]
    locked = _grant(child_api, code, "face_swap")

    assert answers[:-1] == ["invalid_code"] * (settings.OTP_SMS_MAX_FAILURES - 1)
    assert answers[-1] == "locked_out"
    assert locked.json()["code"] == "locked_out"
    assert not ConsentRecord.objects.filter(subject=newcomer).exists()


# --- the portal ---------------------------------------------------------------------------------


def _post(client: Client, url: str, data: dict, *, page: str = "/consent/"):
    html = client.get(page).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token, "the page has no CSRF token"
    return client.post(url, {**data, "csrfmiddlewaretoken": token.group(1)})


@pytest.fixture
def browser(newcomer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(newcomer)
    return client


def test_the_centre_asks_the_year_before_any_grant(browser, newcomer):
    page = browser.get("/consent/").content.decode()

    assert 'action="/consent/age/"' in page
    assert 'name="year_of_birth"' in page
    assert 'action="/consent/grant/"' not in page
    refused = _post(browser, "/consent/grant/", {**quote("face_swap"), "lang": "en"})
    assert refused.status_code == 403
    assert "year of birth" in refused.content.decode()
    assert not ConsentRecord.objects.filter(subject=newcomer).exists()


def test_the_centre_refuses_a_bad_year(browser, newcomer):
    response = _post(browser, "/consent/age/", {"year_of_birth": "20x0", "lang": "en"})

    assert response.status_code == 400
    assert "4 digits" in response.content.decode()
    assert not AgeStatement.objects.filter(subject=newcomer).exists()


def test_an_adult_in_the_centre_gives_a_year_then_grants(browser, newcomer):
    answered = _post(browser, "/consent/age/", {"year_of_birth": "1990", "lang": "en"})

    assert answered.status_code == 302
    page = browser.get("/consent/").content.decode()
    assert 'action="/consent/age/"' not in page
    assert page.count('action="/consent/grant/"') == 4  # one per purpose
    granted = _post(browser, "/consent/grant/", {**quote("face_swap"), "lang": "en"})
    assert granted.status_code == 302


def test_a_child_in_the_centre_goes_to_one_guardian_step_for_two_purposes(
    browser, newcomer, outbox
):
    year = str(_this_year() - 9)
    answered = _post(browser, "/consent/age/", {"year_of_birth": year, "lang": "en"})
    assert answered["Location"] == "/consent/?lang=en#guardian"
    page = browser.get("/consent/").content.decode()
    assert 'action="/consent/grant/"' not in page
    assert page.count('type="checkbox" name="purpose"') == 4  # one per purpose

    sent = _post(
        browser,
        "/consent/guardian/request/",
        {"purpose": ["biometric_enrolment", "face_swap"], "phone": PARENT, "lang": "en"},
    )
    assert sent.status_code == 302
    assert len(outbox) == 1
    guardian_page = browser.get(sent["Location"]).content.decode()
    assert "Biometric enrolment" in guardian_page and "Face swap" in guardian_page
    assert 'name="relationship"' in guardian_page
    quotes = [quote("biometric_enrolment"), quote("face_swap")]
    body = {key: [q[key] for q in quotes] for key in ("purpose", "version", "sha256")}

    granted = _post(
        browser,
        "/consent/guardian/",
        {**body, "code": last_code(outbox), "relationship": "legal_guardian", "lang": "en"},
        page="/consent/guardian/",
    )

    assert granted.status_code == 302
    records = ConsentRecord.objects.filter(subject=newcomer)
    assert sorted(r.purpose.code for r in records) == ["biometric_enrolment", "face_swap"]
    assert {r.guardian_relationship for r in records} == {"legal_guardian"}
    assert not User.objects.filter(phone_number=PARENT).exists()
    # The number held between the two steps went with the grant: nothing keeps it now.
    assert raw_scan(phone_forms(PARENT)) == []


def test_the_guardian_page_needs_a_relationship(browser, newcomer, outbox):
    _post(browser, "/consent/age/", {"year_of_birth": str(_this_year() - 9), "lang": "en"})
    _post(browser, "/consent/guardian/request/", {"purpose": "face_swap", "phone": PARENT})

    response = _post(
        browser,
        "/consent/guardian/",
        {**quote("face_swap"), "code": last_code(outbox), "lang": "en"},
        page="/consent/guardian/",
    )

    assert response.status_code == 400
    assert not ConsentRecord.objects.filter(subject=newcomer).exists()


def test_the_age_step_and_the_childs_guardian_step_in_chinese_have_no_english(browser, newcomer):
    from django.conf import settings

    from tests.compliance_site.test_translations import assert_all_chinese

    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert_all_chinese(browser.get("/consent/"))
    year = str(_this_year() - 9)
    answered = _post(browser, "/consent/age/", {"year_of_birth": year, "lang": "zh-hans"})
    assert answered.status_code == 302
    assert_all_chinese(browser.get("/consent/"))
    for year, status in (("12", 400), ("1990", 409)):  # a bad year; answered once
        refused = _post(browser, "/consent/age/", {"year_of_birth": year, "lang": "zh-hans"})
        assert refused.status_code == status
        assert_all_chinese(refused)


def test_a_guardians_code_for_one_child_grants_nothing_for_another(newcomer, child_api, outbox):
    """Attack: a second child, who knows the parent's number, types the code the parent was
    sent for the first child. The code is bound to that child: it is a wrong code here, and it
    still works for the child it was sent for."""
    from tests.factories import UserFactory

    sibling = UserFactory(phone_number="+447400100008", age_stated=False)
    sibling_api = token_client(sibling)
    assert (
        sibling_api.post(AGE, {"year_of_birth": _this_year() - 9}, format="json").status_code == 201
    )
    assert _ask(child_api, "face_swap").status_code == 202
    code = last_code(outbox)

    # From another network: a wrong code backs off the network it came from, not the child's.
    sibling_api.defaults["REMOTE_ADDR"] = "203.0.113.9"
    stolen = _grant(sibling_api, code, "face_swap")

    assert stolen.status_code == 400 and stolen.json()["code"] == "invalid_code"
    assert not ConsentRecord.objects.filter(subject=sibling).exists()
    assert _grant(child_api, code, "face_swap").status_code == 201
