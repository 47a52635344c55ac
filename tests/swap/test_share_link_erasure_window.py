"""Attack: a share link must die with erasure. Between the person's erasure request (their
account is disabled at once) and the worker's run (queued; later still when the worker is
down or busy), the link kept showing their face to anyone holding it."""

from __future__ import annotations

import pytest

from consent.identity.models import User
from swap.models import SwapJob
from tests.swap.test_share_links import _share, _token, _view, done  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_link_stops_showing_the_result_as_soon_as_its_owner_asks_for_erasure(alice, done):  # noqa: F811
    api, job = done
    token = _token(_share(api, job).json()["url"])
    assert _view(token).status_code == 200

    # The erasure is queued when the request commits; its worker has not run yet.
    asked = api.post("/api/v1/me/erasure")

    assert asked.status_code == 202, asked.content
    assert not User.objects.get(pk=alice.pk).is_active
    assert SwapJob.objects.filter(pk=job.pk).exists()  # the worker has not run
    assert _view(token).status_code == 404
