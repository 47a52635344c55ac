import pytest

from compliance_site import inventory


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(inventory, "_stores", {})
    monkeypatch.setattr(inventory, "_service_stores", {})
    return inventory


def _store(name, *, band=inventory.Band.SIGN_IN, purposes=(), held=None, expiry=(), **art30):
    held = held if held is not None else {}
    declared = {
        "recipients": (inventory.HOSTING,),
        "transfers": (),
        "subjects": (inventory.Subjects.USERS,),
        "security": inventory.BASELINE_SECURITY,
    }
    return inventory.Store(
        name=name,
        what=f"{name} data",
        why="testing",
        retention="1 day",
        legal_basis="consent",
        locate=lambda sid: [f"{name}:{sid}"] if held.get(sid) else [],
        export=lambda sid: {"held": bool(held.get(sid))},
        erase=lambda sid: int(bool(held.pop(sid, None))),
        band=band,
        purposes=purposes,
        expiry=expiry,
        **{**declared, **art30},
    )


def test_stores_are_walked_in_erasure_order(registry):
    registry.register(_store("audit.pseudonym", band=inventory.Band.PSEUDONYM))
    registry.register(_store("biometrics.capture", band=inventory.Band.CAPTURES))
    registry.register(_store("consent.user", band=inventory.Band.ACCOUNT))
    assert [s.name for s in registry.stores()] == [
        "biometrics.capture",
        "consent.user",
        "audit.pseudonym",
    ]


def test_a_store_registered_twice_under_one_name_is_refused(registry):
    registry.register(_store("a.b"))
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(_store("a.b", band=inventory.Band.KEYS))


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


def test_the_record_of_processing_lists_every_store(registry, settings):
    settings.RECIPIENT_HOSTING_COUNTRY = ""
    registry.register(_store("consent.user"))
    (row,) = registry.record_of_processing()
    assert row == {
        "store": "consent.user",
        "data": "consent.user data",
        "subjects": [inventory.Subjects.USERS],
        "purpose": "testing",
        "legal_basis": "consent",
        "recipients": [inventory.RECIPIENTS[inventory.HOSTING].role],
        "transfers": [],
        "retention": "1 day",
        "security": list(inventory.BASELINE_SECURITY),
    }


def test_within_a_band_stores_are_walked_by_name(registry):
    registry.register(_store("swap.jobs", band=inventory.Band.DERIVED))
    registry.register(_store("consent.sessions"))
    registry.register(_store("consent.reports", band=inventory.Band.DERIVED))
    registry.register_all(
        [_store("consent.api_tokens"), _store("biometrics.subject_key", band=inventory.Band.KEYS)]
    )
    assert [s.name for s in registry.stores()] == [
        "consent.reports",
        "swap.jobs",
        "consent.api_tokens",
        "consent.sessions",
        "biometrics.subject_key",
    ]


def test_the_sweep_runs_every_rule_of_every_store_in_erasure_order(registry):
    ran = []

    def rule(name, erased):
        def erase(now):
            ran.append((name, now))
            return inventory.Swept(erased, {"granted": erased} if erased else {})

        return inventory.Expiry(name, erase)

    registry.register(
        _store(
            "biometrics.capture",
            band=inventory.Band.CAPTURES,
            expiry=(rule("biometrics.capture", 2), rule("biometrics.orphan_files", 0)),
        )
    )
    registry.register(
        _store("swap.jobs", band=inventory.Band.DERIVED, expiry=(rule("swap.results", 1),))
    )
    registry.register(_store("consent.user", band=inventory.Band.ACCOUNT))

    swept = registry.retention_sweep("now")

    assert [name for name, _now in ran] == [
        "swap.results",
        "biometrics.capture",
        "biometrics.orphan_files",
    ]
    assert {name for _name, name in ran} == {"now"}
    assert swept == {
        "swap.results": inventory.Swept(1, {"granted": 1}),
        "biometrics.capture": inventory.Swept(2, {"granted": 2}),
        "biometrics.orphan_files": inventory.Swept(0),
    }
    assert [rule.name for rule in registry.expiries()] == list(swept)


def test_a_retention_rule_declared_by_two_stores_is_refused(registry):
    rule = inventory.Expiry("swap.results", lambda now: inventory.Swept())
    registry.register(_store("swap.jobs", expiry=(rule,)))
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(_store("swap.stored_results", expiry=(rule,)))
