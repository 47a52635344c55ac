"""The erasure certificate as a PDF beside the signed JSON: the same token rule as the status
endpoint, a link on the account-deletion status page, audited."""

from __future__ import annotations

import pytest
from django.test import Client

from compliance_site import inventory
from consent.erasure.services import erasure_request
from tests.reports.conftest import pdf_text

pytestmark = pytest.mark.django_db(transaction=True)

ERASURE_URL = "/api/v1/me/erasure"


def _pdf_url(token: str) -> str:
    return f"/api/v1/me/erasure/{token}/certificate.pdf"


@pytest.fixture
def erased(alice, enrolled, api_for):
    """Alice erased through the API (the task runs when the request commits)."""
    enrolled(alice)
    response = api_for(alice).post(ERASURE_URL)
    assert response.status_code == 202, response.content
    return response.json()["id"]


def test_the_certificate_pdf_states_what_the_signed_json_certifies(erased, client, audit_events):
    certificate = client.get(f"/api/v1/me/erasure/{erased}").json()["certificate"]

    response = client.get(_pdf_url(erased))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    flat = "".join(text.split())
    assert "Certificate of erasure" in text
    assert certificate["erasure_request"] in flat
    assert certificate["audit_event"]["leaf_hash"] in flat
    assert certificate["checkpoint"]["root_hash"] in flat
    assert f"#{certificate['audit_event']['leaf_index']}" in text
    assert "".join(certificate["signature"].split()) in flat
    described = {store.name: store.what for store in inventory.stores()}
    for row in certificate["stores"]:  # each store in words, its code left to the JSON
        assert "".join(described[row["store"]].split()) in flat
        assert row["store"] not in text
    assert "Page 1 of" in text
    assert audit_events()[-1] == ("ERASURE_CERTIFICATE_ISSUED", {"format": "pdf"})


def test_the_certificate_pdf_needs_the_status_token(erased, client):
    wrong = client.get(_pdf_url("not-the-token"))

    assert wrong.status_code == 404
    assert wrong.json()["code"] == "erasure_not_found"


@pytest.mark.django_db(transaction=False)
def test_a_certificate_pdf_waits_for_the_erasure_to_finish(alice, client, policies):
    # Inside the test's transaction, which never commits: the erasure task is never queued.
    _request, token = erasure_request(subject=alice)

    response = client.get(_pdf_url(token))

    assert response.status_code == 409
    assert response.json()["code"] == "erasure_not_done"


def test_the_deletion_status_page_links_to_the_pdf_which_downloads(
    alice, enrolled, policies, _sms_outbox
):
    from tests.erasure.kit import portal_erase

    enrolled(alice)
    portal = Client()
    portal.force_login(alice)
    assert portal_erase(portal, _sms_outbox).status_code == 302

    page = portal.get("/account/delete/status/").content.decode()
    pdf = portal.get("/account/delete/certificate.pdf")

    assert 'href="/account/delete/certificate.pdf"' in page
    assert pdf.status_code == 200
    assert "Certificate of erasure" in pdf_text(pdf.content)


def test_erasure_erases_a_stored_report_and_certifies_it(alice, enrolled, api_for, settings):
    from django.core.files.storage import default_storage

    from consent.reports.models import ReportJob
    from tests.reports.conftest import REPORT_URL, many_events

    enrolled(alice)
    settings.REPORT_ASYNC_EVENTS = 3
    many_events(alice, 5)
    api = api_for(alice)
    job = api.get(REPORT_URL).json()  # committed: the worker (eager) made and stored it
    name = ReportJob.objects.get(pk=job["id"]).file
    assert default_storage.exists(name)

    token = api.post(ERASURE_URL).json()["id"]

    certificate = Client().get(f"/api/v1/me/erasure/{token}").json()["certificate"]
    assert {"store": "consent.reports", "erased": 1} in certificate["stores"]
    assert not default_storage.exists(name)
    assert not ReportJob.objects.exists()
