"""The account page says where the person stands on the path (consent to enrolment, enrol,
consent to swaps, a first swap) and links the next step to the exact place it is taken."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from swap.services import swap_job_request
from tests.swap.jobkit import make_template

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("policies")]


def _next_step(client: Client) -> tuple[str, str]:
    html = client.get("/dashboard/").content.decode()
    match = re.search(r'<a class="button next-step" data-step="([a-z_]+)" href="([^"]+)"', html)
    assert match, "the page shows one next step"
    return match.group(1), match.group(2)


def _states(client: Client) -> dict[str, str]:
    html = client.get("/dashboard/").content.decode()
    return dict(re.findall(r'data-step="([a-z_]+)" data-state="([a-z]+)"', html))


def test_the_dashboard_shows_the_next_step_at_every_stage(
    alice, enrolled, grant_consent, monkeypatch
):
    monkeypatch.setattr("compliance_site.jobs._send", lambda kind, pk: None)
    client = Client()
    client.force_login(alice)
    seen = [_next_step(client)]
    [capture] = enrolled(alice)  # consents to enrolment, then enrols
    seen.append(_next_step(client))
    grant_consent(alice, "face_swap")
    seen.append(_next_step(client))
    swap_job_request(subject=alice, capture_id=capture.pk, template_id=make_template().pk)
    seen.append(_next_step(client))

    assert seen == [
        ("enrol", "/consent/?next=/capture/#purpose-biometric_enrolment"),
        ("face_swap_consent", "/consent/?next=/swaps/#purpose-face_swap"),
        ("swap", "/swaps/"),
        ("done", "/swaps/"),
    ]
    assert _states(client) == {"enrol": "done", "face_swap_consent": "done", "swap": "done"}


def test_the_dashboard_marks_what_is_done_and_what_is_next(alice, enrolled):
    client = Client()
    client.force_login(alice)
    enrolled(alice)

    assert _states(client) == {"enrol": "done", "face_swap_consent": "next", "swap": "todo"}
