"""The share viewer's file ticket must not turn one counted view into unlimited, unaudited
copies: a link the owner limited to one view is one person looking, not a download address
anyone the first viewer forwards it to can use for an hour."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from swap.models import ShareLink, SwapJob
from swap.throttles import SHARE_VIEW_RATE
from tests.swap.jobkit import request_swap

pytestmark = pytest.mark.django_db

# The viewer page needs its picture (or player) and its download: more than this from one
# counted view is someone else looking.
FETCHES_ONE_VIEW_NEEDS = 3
SHARE_VIEW_RATE_PER_HOUR = int(SHARE_VIEW_RATE.split("/")[0])


@pytest.fixture
def one_view_link(ready, image_template, django_capture_on_commit_callbacks):
    api, capture = ready
    with django_capture_on_commit_callbacks(execute=True):
        job_id = request_swap(api, capture, image_template).json()["id"]
    job = SwapJob.objects.get(pk=job_id)
    url = api.post(f"/api/v1/swaps/{job.pk}/share-links", {"max_views": 1}, format="json").json()[
        "url"
    ]
    return re.fullmatch(r"http://testserver/s/([A-Za-z0-9_-]{43})/", url).group(1)


def _file_address(token: str) -> str:
    html = Client().get(f"/s/{token}/", REMOTE_ADDR="203.0.113.77").content.decode()
    return re.findall(r'<img src="(/s/[^"]+)"', html)[0].replace("&amp;", "&")


def test_a_one_view_links_ticket_does_not_serve_the_file_to_a_crowd(one_view_link):
    address = _file_address(one_view_link)
    served = sum(
        Client().get(address, REMOTE_ADDR=f"198.51.100.{n}").status_code == 200
        for n in range(1, 21)
    )
    assert ShareLink.objects.get().views == 1
    assert served <= FETCHES_ONE_VIEW_NEEDS, f"one counted view served the file {served} times"


def test_the_file_address_is_held_to_the_networks_view_rate_like_the_page(one_view_link):
    # SHARE_VIEW_RATE is "too few to serve a result to a crowd" from one network; the file
    # address must not be a way around it.
    address = _file_address(one_view_link)
    attempts = SHARE_VIEW_RATE_PER_HOUR + 10
    served = sum(
        Client().get(address, REMOTE_ADDR="203.0.113.77").status_code == 200
        for _ in range(attempts)
    )
    assert served < attempts, f"{served} files from one network within the hour, none refused"


def test_the_file_address_carries_no_identifier_of_the_link(one_view_link):
    # The link's id is what its views are audited under; the viewer has the token, nothing more.
    address = _file_address(one_view_link)
    assert str(ShareLink.objects.get().pk) not in address
