"""The ledger's entry in the personal-data inventory: located, exported and erased by subject."""

from __future__ import annotations

import pytest

from compliance_site import inventory
from consent.ledger.models import AgeStatement, ConsentRecord, MinorDeclaration
from tests.consent.conftest import token_client

pytestmark = pytest.mark.django_db


def _ledger() -> inventory.Store:
    [store] = [s for s in inventory.stores() if s.name == "consent.ledger"]
    return store


def test_the_ledger_is_registered_and_erased_only_by_erasure():
    store = _ledger()

    assert store.purposes == ()
    assert store in inventory.stores()
    assert "consent.ledger" in {row["store"] for row in inventory.record_of_processing()}


def test_the_ledger_locates_exports_and_erases_one_subjects_records(alice, bob, grant_consent):
    grant_consent(alice, "biometric_enrolment", "face_swap")
    grant_consent(bob, "face_swap")
    token_client(bob).post("/api/v1/consents/minor-declaration")  # withdraws bob's face_swap
    store = _ledger()

    assert len(store.locate(alice.pk)) == 3  # two records and her statement of 14 or over
    assert f"age_statement:{alice.pk}" in store.locate(alice.pk)
    assert store.export(alice.pk)["age_14_or_over_stated_on"]
    exported = store.export(bob.pk)
    assert [r["action"] for r in exported["consent_records"]] == ["grant", "withdraw"]
    assert exported["under_14_declared_on"]
    assert exported["age_14_or_over_stated_on"] is None  # replaced by the correction

    assert store.erase(bob.pk) == 3
    assert store.locate(bob.pk) == []
    assert store.erase(bob.pk) == 0  # idempotent
    assert not MinorDeclaration.objects.filter(subject=bob).exists()
    assert ConsentRecord.objects.filter(subject=alice).count() == 2
    assert store.erase(alice.pk) == 3
    assert not AgeStatement.objects.filter(subject=alice).exists()
