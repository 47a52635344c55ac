"""Every app's stores keep the one store contract written in ``compliance_site.inventory``:
declared in the app's ``stores.py``, every field given, callbacks named after the store,
erasure in the documented band order, no name used twice."""

from __future__ import annotations

import re
from importlib import import_module

import pytest
from django.apps import apps

from compliance_site import inventory

# The project's own apps, lowest first; each declares its stores in ``<app>/stores.py``.
APPS = ("audit", "consent", "biometrics", "swap")

# What each band holds in this project, as the band's comment in the inventory says.
BANDS = {
    inventory.Band.DERIVED: {
        "consent.reports",
        "swap.access_links",
        "swap.ephemeral_results",
        "swap.jobs",
        "swap.notices",
        "swap.stored_results",
    },
    inventory.Band.CAPTURES: {"biometrics.captures", "biometrics.challenges"},
    inventory.Band.SIGN_IN: {
        "consent.api_tokens",
        "consent.celery_results",
        "consent.code_attempts",
        "consent.send_windows",
        "consent.session_numbers",
        "consent.sessions",
        "consent.sms_devices",
        "consent.upload_temp_files",
    },
    inventory.Band.KEYS: {"biometrics.subject_key"},
    inventory.Band.RECORDS: {"consent.erasure_requests", "consent.ledger"},
    inventory.Band.ACCOUNT: {"consent.subject"},
    inventory.Band.PSEUDONYM: {"audit.pseudonyms"},
}

# Stores whose data is encrypted under the subject's data key: all before the key.
ENCRYPTED = {
    "biometrics.captures",
    "consent.reports",
    "swap.ephemeral_results",
    "swap.jobs",
    "swap.stored_results",
}


def _declared() -> list[inventory.Store]:
    return [store for app in APPS for store in import_module(f"{app}.stores").STORES]


def _short(name: str) -> str:
    return name.split(".", 1)[1]


def test_the_registry_holds_exactly_the_stores_the_apps_declare_and_no_name_twice():
    declared = [store.name for store in _declared()]

    assert len(declared) == len(set(declared))
    assert sorted(declared) == sorted(store.name for store in inventory.stores())
    for store in _declared():
        assert inventory._stores[store.name] is store
    rules = [rule.name for store in _declared() for rule in store.expiry]
    assert len(rules) == len(set(rules))


@pytest.mark.parametrize("store", inventory.stores(), ids=lambda store: store.name)
def test_every_store_declares_every_field_of_the_contract(store):
    app, short = store.name.split(".", 1)
    assert app in APPS and apps.get_app_config(app)
    assert re.fullmatch(r"[a-z_]+", short)
    assert store in import_module(f"{app}.stores").STORES  # declared next to its data
    for text in (store.what, store.why, store.retention, store.legal_basis):
        assert isinstance(text, str) and text.strip()
    assert isinstance(store.band, inventory.Band)
    assert isinstance(store.purposes, tuple) and isinstance(store.recipients, tuple)
    assert isinstance(store.transfers, tuple) and inventory.record_gaps(store) == []
    # One naming convention for every callback: "<store>_<role>".
    assert store.locate.__name__ == f"{short}_locate"
    assert store.export.__name__ == f"{short}_export"
    assert store.erase.__name__ == f"{short}_erase"
    if store.files is not None:
        assert store.files.__name__ == f"{short}_files"
    if store.count is not None:
        assert store.count.__name__ == f"{short}_count"
    for rule in store.withdrawal:
        assert isinstance(rule, inventory.Withdrawal) and rule.purpose in store.purposes
        assert rule.apply.__name__.endswith("_withdraw")
        assert rule.count.__name__ == f"{rule.apply.__name__}_count"
    if store.purposes or store.band == inventory.Band.KEYS:
        # The withdrawal preview counts what will go, in plain words.
        assert store.count is not None and store.items is not None
        assert str(store.items % {"count": 2}).startswith("2 ")
    for rule in store.expiry:
        assert isinstance(rule, inventory.Expiry)
        rule_app, what = rule.name.split(".", 1)
        assert rule_app == app
        assert rule.erase.__name__ == f"{what}_expired_erase"


def test_the_bands_hold_what_their_documentation_says():
    held = {band: set() for band in inventory.Band}
    for store in inventory.stores():
        held[store.band].add(store.name)

    assert held == BANDS
    assert list(inventory.Band) == sorted(inventory.Band)  # declared in erasure order


def test_the_erasure_order_follows_the_bands_and_their_reasons():
    names = [store.name for store in inventory.stores()]
    position = names.index
    bands = [store.band for store in inventory.stores()]

    assert bands == sorted(bands)
    for band in inventory.Band:  # within a band, by name
        inside = [store.name for store in inventory.stores() if store.band == band]
        assert inside == sorted(inside)
    # The key goes after every ciphertext it opens; the ledger after the key; the account row
    # after everything pointing at it; the pseudonym mapping last of all.
    key = position("biometrics.subject_key")
    assert all(position(name) < key for name in ENCRYPTED)
    assert key < position("consent.ledger") < position("consent.subject")
    assert all(position(name) < position("consent.subject") for name in names[:-2])
    assert names[-1] == "audit.pseudonyms"
    # Results and reports are made from the captures: erased before them.
    derived = [position(name) for name in BANDS[inventory.Band.DERIVED]]
    assert max(derived) < position("biometrics.captures")


def test_the_stores_that_hold_ciphertext_under_the_key_say_so():
    assert {store.name for store in inventory.stores() if store.keyed} == ENCRYPTED


def test_the_sweep_runs_exactly_the_rules_the_stores_declare():
    assert [rule.name for rule in inventory.expiries()] == [
        "consent.reports",
        "swap.share_links",  # band DERIVED, swap.access_links: first by name
        "swap.results",
        "swap.orphan_files",
        "swap.notices",
        "biometrics.captures",
        "biometrics.orphan_files",
        "biometrics.challenges",
        "biometrics.subject_keys",  # band KEYS: after everything it opens was swept
    ]


def _home(module: str) -> str:
    """The app, or for consent the sub-domain, that a module belongs to."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "consent" else parts[0]


@pytest.mark.parametrize("app", APPS)
def test_each_store_is_declared_in_the_sub_domain_that_holds_its_data(app):
    stores_module = import_module(f"{app}.stores")
    for store in stores_module.STORES:
        callbacks = [store.locate, store.export, store.erase]
        callbacks += [rule.erase for rule in store.expiry]
        callbacks += [store.count] if store.count is not None else []
        callbacks += [f for rule in store.withdrawal for f in (rule.apply, rule.count)]
        declared_in = _home(_declaring_module(store, app))
        assert {_home(callback.__module__) for callback in callbacks} == {declared_in}, store.name


def _declaring_module(store: inventory.Store, app: str) -> str:
    """consent's ``stores.py`` gathers its sub-domains' ``STORES``: find the one declaring it."""
    if app != "consent":
        return f"{app}.stores"
    for sub in ("identity", "ledger", "erasure", "reports"):
        if store in import_module(f"consent.{sub}.stores").STORES:
            return f"consent.{sub}.stores"
    raise AssertionError(f"{store.name} is declared in no sub-domain's stores.py")
