"""A small populated world for the hardening tests: two subjects with captures, consents, a
swap job, a receipt, a report job and a finished erasure, and one staff member per role, each
signed in the way that role signs in (subjects by session, staff through the admin's TOTP)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.test import Client

from tests.consent.identity.test_admin import admin_login
from tests.factories import StaffFactory, UserFactory

ROLES = ("anonymous", "owner", "other", "support", "dpo", "auditor")
STAFF_ROLES = ("support", "dpo", "auditor")


@dataclass
class World:
    alice: object
    bob: object
    staff: dict
    capture: object
    spare_capture: object
    template: object
    job: object
    spare_job: object
    receipt: str
    report_job: object
    erasure_token: str
    purpose: str = "face_swap"
    sessions: dict = field(default_factory=dict)

    # path parameters, by the names the URL patterns use
    receipt_id = property(lambda self: self.receipt)
    report_job_id = property(lambda self: self.report_job.pk)
    capture_id = property(lambda self: self.capture.pk)
    spare_capture_id = property(lambda self: self.spare_capture.pk)
    template_id = property(lambda self: self.template.pk)
    job_id = property(lambda self: self.job.pk)
    spare_job_id = property(lambda self: self.spare_job.pk)
    # A share link nobody made: its id and a token of the right form (a link's owner is tried
    # in tests/swap/test_share_links.py).
    absent_link_id = "00000000-0000-4000-8000-000000000000"
    absent_token = "A" * 43

    def client(self, role: str, *, verified: bool = True) -> Client:
        """A client for ``role``; staff are OTP-verified unless ``verified=False``."""
        client = Client()
        if role == "owner":
            client.force_login(self.alice)
        elif role == "other":
            client.force_login(self.bob)
        elif role in STAFF_ROLES and verified:
            _session_copy(client, self._verified_session(role))
        elif role in STAFF_ROLES:
            client.force_login(self.staff[role])
        return client

    def _verified_session(self, role: str) -> dict:
        """The session of one real admin sign-in (password + TOTP) per role; a TOTP code
        works once, so later clients get copies of it."""
        if role not in self.sessions:
            client = Client()
            user = self.staff[role]
            assert admin_login(client, user, device=user.totp_device).status_code == 302
            self.sessions[role] = dict(client.session.items())
        return self.sessions[role]


def _session_copy(client: Client, data: dict) -> None:
    from importlib import import_module

    from django.conf import settings

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session.update(data)
    session.create()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key


def staff_member(role: str, phone: str):
    from consent.identity.services import _role_group

    user = StaffFactory(phone_number=phone)
    user.groups.add(_role_group(role))
    return user


def build_world(*, enrolled, grant_consent) -> World:
    """Queued work (the swap, the report, the erasure) runs as it would after the commit."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        world = _world(enrolled=enrolled, grant_consent=grant_consent)
    for item in (world.job, world.spare_job, world.report_job):
        item.refresh_from_db()
    return world


def _world(*, enrolled, grant_consent) -> World:
    from audit.services import audit_seal
    from consent.erasure.services import erasure_request
    from consent.reports.services import report_job_request
    from swap.services import swap_job_request
    from tests.swap.jobkit import make_template

    alice, bob = (
        UserFactory(phone_number="+447400100001"),
        UserFactory(phone_number="+447400100002"),
    )
    capture, spare = enrolled(alice, captures=2)
    enrolled(bob)
    receipt = grant_consent(alice, "face_swap")[0]
    grant_consent(bob, "face_swap")
    template = make_template()
    job = swap_job_request(subject=alice, capture_id=capture.pk, template_id=template.pk)
    spare_job = swap_job_request(subject=alice, capture_id=spare.pk, template_id=template.pk)
    report_job = report_job_request(subject=alice, language="en", events=10_000)
    _erasure, token = erasure_request(subject=UserFactory())
    audit_seal()
    staff = {role: staff_member(role, f"+4479110002{i:02d}") for i, role in enumerate(STAFF_ROLES)}
    return World(
        alice=alice,
        bob=bob,
        staff=staff,
        capture=capture,
        spare_capture=spare,
        template=template,
        job=job,
        spare_job=spare_job,
        receipt=str(receipt.receipt_id),
        report_job=report_job,
        erasure_token=token,
    )
