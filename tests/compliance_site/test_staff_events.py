"""The admin site sits below the audit log: consent's identity plugs in the audited recorders
of staff events. Every event has one, and an event nothing records stops the page instead of
going unaudited."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from compliance_site import admin


def test_identity_plugs_in_a_recorder_for_every_staff_event():
    assert set(admin._recorders) == set(admin.STAFF_EVENTS)


def test_a_staff_event_that_nothing_records_raises(monkeypatch):
    monkeypatch.setattr(admin, "_recorders", {})

    with pytest.raises(ImproperlyConfigured, match="login"):
        admin._staff_event("login", user=None)


def test_an_unknown_staff_event_cannot_be_plugged_in():
    with pytest.raises(ValueError, match="Unknown staff events: deleted"):
        admin.staff_events_connect(deleted=lambda **facts: None)
