import pytest

from compliance_site import inventory


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(inventory, "_stores", {})
    return inventory


def _store(name, *, order=100, purposes=(), held=None):
    held = held if held is not None else {}
    return inventory.Store(
        name=name,
        what=f"{name} data",
        why="testing",
        retention="1 day",
        legal_basis="consent",
        locate=lambda sid: [f"{name}:{sid}"] if held.get(sid) else [],
        export=lambda sid: {"held": bool(held.get(sid))},
        erase=lambda sid: int(bool(held.pop(sid, None))),
        purposes=purposes,
        order=order,
    )


def test_stores_are_walked_in_erasure_order(registry):
    registry.register(_store("audit.pseudonym", order=1000))
    registry.register(_store("biometrics.capture", order=10))
    registry.register(_store("consent.user", order=900))
    assert [s.name for s in registry.stores()] == [
        "biometrics.capture",
        "consent.user",
        "audit.pseudonym",
    ]


def test_a_store_registered_twice_under_one_name_is_refused(registry):
    registry.register(_store("a.b"))
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(_store("a.b", order=5))


def test_locate_export_and_purpose_lookup_cover_every_store(registry):
    held = {7: True}
    registry.register(_store("biometrics.capture", purposes=("biometric_enrolment",), held=held))
    registry.register(_store("swap.output", purposes=("face_swap", "output_storage")))
    assert registry.locate_all(7) == {
        "biometrics.capture": ["biometrics.capture:7"],
        "swap.output": [],
    }
    assert registry.export_all(8) == {
        "biometrics.capture": {"held": False},
        "swap.output": {"held": False},
    }
    assert [s.name for s in registry.stores_for_purpose("output_storage")] == ["swap.output"]


def test_the_record_of_processing_lists_every_store(registry):
    registry.register(_store("consent.user"))
    (row,) = registry.record_of_processing()
    assert row == {
        "store": "consent.user",
        "data": "consent.user data",
        "purpose": "testing",
        "legal_basis": "consent",
        "retention": "1 day",
        "recipients": "none",
    }
