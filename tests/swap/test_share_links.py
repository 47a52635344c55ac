"""Share links: the owner makes a link to a result (an unguessable token stored only as its
digest; 24 hours by default, at most 7 days; an optional view limit) and revokes it in one
action; anyone with it sees the labelled result and its provenance without an account, on a
page that is not indexed, leaks no referrer and loads nothing from elsewhere; the download is
the labelled file. A link dies with its result, the owner's withdrawal, the depicted person's
withdrawal and erasure; each view is audited without the viewer's address; views are
rate-limited per network."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from audit.models import AuditEvent
from biometrics import vault
from compliance_site import inventory
from swap import throttles
from swap.engines.label import DIGITAL_SOURCE_TYPE, read_png_provenance
from swap.models import ShareLink, SwapJob
from swap.services import swap_template_consent_withdraw
from tests.erasure.kit import client_for, raw_scan
from tests.swap.jobkit import open_result, request_swap, withdraw

pytestmark = pytest.mark.django_db

VIEWER_ADDRESS = "203.0.113.77"


@pytest.fixture
def done(alice, ready, image_template, django_capture_on_commit_callbacks):
    """Alice's finished swap (a labelled PNG) and her API client."""
    api, capture = ready
    with django_capture_on_commit_callbacks(execute=True):
        job_id = request_swap(api, capture, image_template).json()["id"]
    job = SwapJob.objects.get(pk=job_id)
    assert job.status == SwapJob.Status.DONE
    return api, job


def _share(api, job, **terms):
    return api.post(f"/api/v1/swaps/{job.pk}/share-links", terms, format="json")


def _token(url: str) -> str:
    return re.fullmatch(r"http://testserver/s/([A-Za-z0-9_-]{43})/", url).group(1)


def _view(token: str, address: str = VIEWER_ADDRESS):
    return Client().get(f"/s/{token}/", REMOTE_ADDR=address)


def test_the_owner_makes_a_link_and_anyone_sees_the_labelled_result_without_an_account(alice, done):
    api, job = done
    response = _share(api, job)

    assert response.status_code == 201, response.content
    token = _token(response.json()["url"])
    # Only the keyed digest is kept: the token is nowhere in the database.
    assert raw_scan([token.encode()]) == []
    page = _view(token)
    assert page.status_code == 200
    html = page.content.decode()
    assert "AI-generated." in html and 'class="message ai-label"' in html
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert '<meta name="referrer" content="no-referrer">' in html
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert page["Referrer-Policy"] == "no-referrer"
    assert "no-store" in page["Cache-Control"]
    # Nothing from another site, and the page does not carry the result inside it (a video
    # would make it tens of megabytes on a phone): every src and href is an address of ours.
    addresses = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert all(a.startswith(("/", "#")) for a in addresses), addresses
    assert len(page.content) < 20_000
    assert "default-src 'self'" in page["Content-Security-Policy"]
    # The picture shown and the download are the stored, labelled file; fetching them counts
    # no other view.
    stored = open_result(job, vault.subject_key(alice.pk))
    assert read_png_provenance(stored)["digital_source_type"] == DIGITAL_SOURCE_TYPE
    [shown] = re.findall(r'<img src="(/s/[^"]+)"', html)
    [download] = re.findall(r'<a class="button" href="([^"]+download=1)"', html)
    picture, attachment = _file(shown), _file(download)
    assert _body(picture) == _body(attachment) == stored
    assert picture["Content-Type"] == "image/png" and "inline" in picture["Content-Disposition"]
    assert (
        f'attachment; filename="faceledger-swap-{job.pk}.png"' == attachment["Content-Disposition"]
    )
    for response in (picture, attachment):
        assert response["X-Robots-Tag"] == "noindex, nofollow"
        assert response["Referrer-Policy"] == "no-referrer"
        assert "no-store" in response["Cache-Control"]
    assert ShareLink.objects.get().views == 1


def _file(address: str):
    return Client().get(address.replace("&amp;", "&"), REMOTE_ADDR=VIEWER_ADDRESS)


def _body(response) -> bytes:
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


def _file_address(token: str) -> str:
    html = _view(token).content.decode()
    return re.findall(r'<img src="(/s/[^"]+)"', html)[0].replace("&amp;", "&")


def test_the_file_of_a_view_needs_that_pages_ticket_and_dies_with_the_link(done):
    api, job = done
    token = _token(_share(api, job, max_views=1).json()["url"])
    address = _file_address(token)
    ticket = address.split("ticket=")[1]
    other = _token(_share(api, job).json()["url"])

    # The view limit applies to views, not to the file of the view just counted.
    assert _file(address).status_code == 200
    assert _view(token).status_code == 404
    for forged in (
        f"/s/{token}/file/",
        f"/s/{token}/file/?ticket=",
        f"/s/{token}/file/?ticket={ticket[:-2]}xx",
        f"/s/{other}/file/?ticket={ticket}",  # another link's page cannot lend its ticket
        f"/s/{'A' * 43}/file/?ticket={ticket}",
    ):
        assert _file(forged).status_code == 404, forged
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=5)):
        assert _file(address).status_code == 404  # the ticket lasts an hour
    api.delete(f"/api/v1/share-links/{ShareLink.objects.get(views=1).pk}")
    assert _file(address).status_code == 404  # revoked: nothing more, ticket or not


def test_the_api_download_is_the_labelled_file_and_counts_a_view(alice, done):
    api, job = done
    token = _token(_share(api, job).json()["url"])

    response = APIClient().get(f"/api/v1/shared/{token}", REMOTE_ADDR=VIEWER_ADDRESS)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == open_result(job, vault.subject_key(alice.pk))
    assert response["Content-Type"] == "image/png"
    assert response["Referrer-Policy"] == "no-referrer"
    assert ShareLink.objects.get().views == 1


def test_a_link_lasts_24_hours_by_default_at_most_7_days_never_past_its_result(
    alice, grant_consent, done, django_capture_on_commit_callbacks, ready, image_template
):
    api, job = done
    made = timezone.now()
    default = _share(api, job).json()
    # The result itself is kept 24 hours (no output storage): the link cannot outlive it.
    assert parse_datetime(default["expires_at"]) == job.expires_at
    grant_consent(alice, "output_storage")
    with django_capture_on_commit_callbacks(execute=True):
        kept_id = request_swap(api, ready[1], image_template).json()["id"]
    kept = SwapJob.objects.get(pk=kept_id)
    day = parse_datetime(_share(api, kept).json()["expires_at"])
    week = parse_datetime(_share(api, kept, expires_in_hours=168).json()["expires_at"])

    assert timedelta(hours=24) <= day - made <= timedelta(hours=24, minutes=1)
    assert timedelta(days=7) <= week - made <= timedelta(days=7, minutes=1)
    for hours in (0, 169, "soon"):
        refused = _share(api, kept, expires_in_hours=hours)
        assert refused.status_code == 400, hours
    token = _token(_share(api, kept, expires_in_hours=1).json()["url"])
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        assert _view(token).status_code == 404


def test_a_link_with_a_view_limit_shows_the_result_that_many_times_then_is_gone(done):
    api, job = done
    token = _token(_share(api, job, max_views=2).json()["url"])

    assert [_view(token).status_code for _ in range(3)] == [200, 200, 404]
    assert ShareLink.objects.get().views == 2
    inventory.retention_sweep(timezone.now())
    assert not ShareLink.objects.exists()  # used up: the sweep erases it


def test_the_owner_revokes_a_link_in_one_action(alice, done, audit_events):
    api, job = done
    created = _share(api, job).json()
    token = _token(created["url"])
    assert [link["id"] for link in api.get(f"/api/v1/swaps/{job.pk}/share-links").json()] == [
        created["id"]
    ]

    assert api.delete(f"/api/v1/share-links/{created['id']}").status_code == 204

    assert _view(token).status_code == 404
    assert not ShareLink.objects.exists()
    assert api.get(f"/api/v1/swaps/{job.pk}/share-links").json() == []
    names = [name for name, _data in audit_events()]
    assert names[-3:] == [
        "SWAP_SHARE_LINK_CREATED",
        "SWAP_SHARE_LINK_REVOKED",
        "SWAP_SHARE_LINK_REFUSED",
    ]


def test_a_wrong_malformed_or_revoked_token_is_one_answer(done):
    api, job = done
    created = _share(api, job).json()
    api.delete(f"/api/v1/share-links/{created['id']}")
    revoked = _token(created["url"])

    answers = {
        (r.status_code, re.search(r"<main.*</main>", r.content.decode(), re.S).group(0))
        for r in (_view(revoked), _view("A" * 43), _view("not-a-token"), _view("x" * 500))
    }

    assert len(answers) == 1 and next(iter(answers))[0] == 404


def test_someone_elses_result_cannot_be_shared_nor_their_links_revoked(bob, done):
    api, job = done
    created = _share(api, job).json()
    bobs = client_for(bob)

    assert _share(bobs, job).status_code == 404
    assert bobs.delete(f"/api/v1/share-links/{created['id']}").status_code == 404
    assert bobs.get(f"/api/v1/swaps/{job.pk}/share-links").status_code == 404
    assert ShareLink.objects.count() == 1


def test_a_link_dies_with_its_result_when_the_owner_deletes_it(done):
    api, job = done
    token = _token(_share(api, job).json()["url"])

    assert api.delete(f"/api/v1/swaps/{job.pk}").status_code == 204

    assert not ShareLink.objects.exists() and _view(token).status_code == 404


def test_a_link_dies_with_any_withdrawal_of_its_owner_even_when_the_result_stays(
    alice, grant_consent, done, ready, image_template, django_capture_on_commit_callbacks
):
    api, _job = done
    grant_consent(alice, "output_storage")
    with django_capture_on_commit_callbacks(execute=True):
        kept = SwapJob.objects.get(pk=request_swap(api, ready[1], image_template).json()["id"])
    token = _token(_share(api, kept).json()["url"])

    withdraw(alice, "output_storage")

    assert SwapJob.objects.filter(pk=kept.pk).exists()  # young: kept 24 hours more
    assert not ShareLink.objects.exists() and _view(token).status_code == 404


def test_a_link_dies_when_the_depicted_person_withdraws(done, image_template):
    api, job = done
    token = _token(_share(api, job).json()["url"])

    swap_template_consent_withdraw(consent=image_template.depicted_consent, actor=None)

    assert not ShareLink.objects.exists() and _view(token).status_code == 404


def test_a_link_dies_with_account_erasure(alice, done):
    api, job = done
    token = _token(_share(api, job).json()["url"])
    from django.db import transaction

    with transaction.atomic():
        for store in inventory.stores():
            store.erase(alice.pk)

    assert not ShareLink.objects.exists() and _view(token).status_code == 404


def test_each_view_is_audited_without_the_viewers_address(done, audit_events):
    api, job = done
    created = _share(api, job).json()
    token = _token(created["url"])

    _view(token, "198.51.100.23")
    _view(token, "198.51.100.23")

    viewed = [data for name, data in audit_events() if name == "SWAP_SHARE_LINK_VIEWED"]
    assert viewed == [{"link": created["id"], "views": 1}, {"link": created["id"], "views": 2}]
    assert "198.51.100" not in str(list(AuditEvent.objects.values()))


def test_views_are_limited_per_network_and_audited_without_the_address(
    done, monkeypatch, audit_events
):
    api, job = done
    token = _token(_share(api, job).json()["url"])
    monkeypatch.setattr(throttles, "SHARE_VIEW_RATE", "3/hour")

    codes = [_view(token).status_code for _ in range(4)]
    api_code = APIClient().get(f"/api/v1/shared/{token}", REMOTE_ADDR=VIEWER_ADDRESS).status_code
    other = _view(token, "198.51.100.7").status_code

    assert codes == [200, 200, 200, 429] and api_code == 429 and other == 200
    refused = [data for name, data in audit_events() if name == "SWAP_SHARE_LINK_REFUSED"]
    assert refused == [{"reason": "rate_limited"}, {"reason": "rate_limited"}]
    assert VIEWER_ADDRESS not in str(list(AuditEvent.objects.values()))
