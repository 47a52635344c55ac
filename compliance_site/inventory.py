"""The one registry of every place that holds personal data (invariant "one-inventory",
docs/ARCHITECTURE.md).

Access, portability, erasure, withdrawal clean-up, the record of processing (GDPR Art. 30),
the public retention schedule and the retention sweep all walk this registry, so a store that
is not registered is a bug that the erasure tests (a raw scan of every table and file after
erasure) will find.

The store contract
------------------
- Every app declares its stores in its own ``stores.py``, as a tuple ``STORES`` of ``Store``
  next to the data it owns, and registers them from its ``AppConfig.ready()`` with one call:
  ``inventory.register_all(stores.STORES)``. No store is registered anywhere else.
- A store is named ``"<app>.<store>"``; the name is stable (erasure certificates cite it) and
  no two stores share one.
- Its callbacks are named after the part of the name after the dot, wherever they live
  (``stores.py``, ``selectors.py``, ``services.py``): ``<store>_locate(subject_id)`` (references
  to what is held, never the data), ``<store>_export(subject_id)`` (a JSON-safe copy),
  ``<store>_erase(subject_id)`` (the number of items erased; idempotent, in the caller's
  transaction), and, for stores of files, ``<store>_files(subject_id)``. All take the subject's
  id alone, so they keep working after the subject's own row is gone.
- ``band`` places the store in the erasure order (``Band``, below); within a band stores are
  erased in the order of their names, so two stores in one band never depend on each other.
- ``purposes`` names the consents whose withdrawal touches the store. By default withdrawal
  erases it (``erase``) and the preview counts with ``<store>_count(subject_id)`` (the items
  ``erase`` would erase now). Where withdrawal of one purpose does something else, the store
  says so in ``withdrawal``: a ``Withdrawal(purpose, apply, count)`` whose
  ``<what>_withdraw(subject_id)`` does it (the number erased; in the caller's transaction) and
  whose ``<what>_withdraw_count(subject_id)`` says beforehand how many it will erase. Stores
  holding ciphertext under the subject's data key say ``keyed=True``; the ``KEYS`` band's store
  is erased as soon as no keyed store holds anything for the subject (``keys_release``:
  after each withdrawal, deletion, and the retention sweep's ``KEYS`` rule). A store whose items
  are copied into another (capture photos into a report's thumbnails) names that store in
  ``copied_to``; deleting one of its items erases the copies (``copies_erase``). The source
  names the copy, never the reverse, so a lower layer (``consent.reports``) names no upper one.
- ``expiry`` holds the store's retention rules, if time erases anything it holds: each names
  what expires (``"<app>.<what>"``) and its ``<what>_expired_erase(now)``, which erases, through
  the same per-item erase as deletion, withdrawal and erasure, whatever expired at ``now``,
  reading the consent state through the gate first when it deletes under a purpose, and returns
  a ``Swept``. ``retention_sweep(now)`` walks every rule of every store in erasure order; the
  audited sweep (``audit.services.retention_sweep``: the ``retention_sweep`` command and the
  beat entry ``retention-sweep``) runs it in one transaction with one audit event.

The erasure bands, in order (``Band`` says why each comes where it does):

  DERIVED    results and reports made from other data    swap.jobs, consent.reports
  CAPTURES   biometric source data                       biometrics.captures
  SIGN_IN    sign-in and request traces                  consent.sessions, consent.sms_devices
  KEYS       the subject's data key (crypto-shredding)   biometrics.subject_key
  RECORDS    proof kept while the data may exist         consent.ledger
  ACCOUNT    the account row and the number              consent.subject
  PSEUDONYM  the audit log's pseudonym mapping           audit.pseudonyms

Every store also declares what the record of processing (GDPR Art. 30(1)) must state about it:
``subjects`` (``Subjects``), ``recipients`` (keys of ``RECIPIENTS``, the processors), ``transfers``
and ``security`` (``Security``); ``record_of_processing`` refuses a store that leaves one out.

To add a store: declare it in ``<app>/stores.py`` (descriptions marked with ``gettext_noop``),
write its callbacks under the names above, and add it to its band in
``tests/compliance_site/test_store_contract.py``. Access, export, erasure, withdrawal, the
record of processing, the ``/retention/`` page and the sweep then find it by themselves.

Not swept here: consent's sign-in data with no purpose left (unused code devices, send
windows, code attempt counts, expired tokens, held session numbers, expired sessions) is
pruned by consent's own beat tasks (``identity_prune``, ``session_numbers_prune``, audited as
``IDENTITY_PRUNED``), every few minutes rather than hourly.

This module imports no app.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_noop


class Band(enum.IntEnum):
    """Where a store comes in the erasure order, lowest first. A band exists because of what
    must still exist while the stores before it are erased, or must be gone before it goes."""

    # Made from other data: swap results, stored reports. First: nothing is made from them,
    # and they are encrypted under the subject's key.
    DERIVED = 10
    # The biometric source data: captures (photos, embeddings) and liveness challenges.
    # Encrypted under the subject's key; results were made from them.
    CAPTURES = 20
    # Sign-in and request traces: sessions, tokens, sign-in codes and send limits (some found
    # by the number, which goes with the account), leftover upload files, background-job
    # results. Not encrypted under the key; nothing else depends on them.
    SIGN_IN = 30
    # The subject's data key: after every ciphertext it opens, so that destroying it is the
    # crypto-shred of any copy left anywhere (invariant "crypto-shredding", docs/ARCHITECTURE.md).
    KEYS = 40
    # Proof held while the data it covers may exist: the consent ledger, the erasure request.
    # After the keys: an erasure stopped part-way never leaves data without its consent record.
    RECORDS = 50
    # The account row and the number: rows of every band above point at it.
    ACCOUNT = 60
    # The audit log's pseudonym mapping: erasure writes its own events under it, so last.
    PSEUDONYM = 70


@dataclass(frozen=True)
class StoreFile:
    """One file a store holds for a subject, decrypted in memory for the subject's own copy
    (the export zip, the report's thumbnails). Never written anywhere in clear."""

    ref: str  # what it belongs to, as the store's export names it (e.g. a capture id)
    name: str  # a file name for the zip: "<ref>.jpg"
    content_type: str
    data: bytes


@dataclass
class Swept:
    """What one retention rule erased in one sweep."""

    erased: int = 0
    # Items erased per consent state read through the gate ("granted", "consent_required", ...).
    consent: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Expiry:
    """A retention rule: what expires, and the function that erases it (invariant "retention",
    docs/ARCHITECTURE.md)."""

    name: str  # "<app>.<what>": the sweep's audit event counts by it
    erase: Callable[[datetime], Swept]  # "<what>_expired_erase"


@dataclass(frozen=True)
class Withdrawal:
    """What withdrawing ``purpose`` does to a store when it is not ``erase`` (e.g. keeping
    young results for their last hours): ``apply(subject_id)`` does it in the caller's
    transaction and returns the number of items erased; ``count(subject_id)`` is that number
    beforehand, for the preview."""

    purpose: str
    apply: Callable[[int], int]  # "<what>_withdraw"
    count: Callable[[int], int]  # "<what>_withdraw_count"


@dataclass(frozen=True)
class Store:
    name: str  # "<app>.<store>", stable: erasure certificates cite it
    what: str  # the data held, in plain words
    why: str  # the purpose of processing
    retention: str  # how long, in plain words
    legal_basis: str
    locate: Callable[[int], list[str]]  # "<store>_locate": references to what is held
    export: Callable[[int], Any]  # "<store>_export": JSON-serialisable copy
    erase: Callable[[int], int]  # "<store>_erase": items erased; must be idempotent
    band: Band  # where it comes in the erasure order
    # Consent purposes whose withdrawal erases this store (empty: erased only by erasure or
    # retention).
    purposes: tuple[str, ...] = ()
    # GDPR Art. 30(1)(c)-(g), declared by every store; ``record_of_processing`` refuses a store
    # that leaves one out (None, or no subjects or measures). Keys of ``RECIPIENTS``: the
    # processors that receive or host this store's data (``()``: none).
    recipients: tuple[str, ...] | None = None
    # Transfers of this store's data to another country that its own design makes, in plain
    # words (``()``: none). Recipients' own countries add theirs (``transfers_of``).
    transfers: tuple[str, ...] | None = None
    # Categories of data subjects (``Subjects``).
    subjects: tuple[str, ...] = ()
    # Technical and organisational security measures (Art. 32), in plain words (``Security``).
    security: tuple[str, ...] = ()
    # "<store>_files", for stores of files (photos, results): the subject's files in clear,
    # for their own copy.
    files: Callable[[int], Iterable[StoreFile]] | None = None
    # What time erases from this store (empty: only deletion, withdrawal and erasure do).
    expiry: tuple[Expiry, ...] = ()
    # "<store>_count": the items ``erase`` would erase now (the withdrawal preview's numbers).
    count: Callable[[int], int] | None = None
    # Per purpose, what withdrawal does when it is not ``erase``.
    withdrawal: tuple[Withdrawal, ...] = ()
    # Holds ciphertext under the subject's data key: the key lives while this holds anything.
    keyed: bool = False
    # "<store>_sealed", for a keyed store whose items do not all need the key (a failed swap
    # has no result): how many of the subject's items do now. Default: ``count``.
    sealed: Callable[[int], int] | None = None
    # How one item is counted in plain words, "%(count)d face capture(s)" (``ngettext_lazy``
    # with "count"), for the withdrawal preview.
    items: Any = None
    # Stores holding copies of this store's items (a report's thumbnails of capture photos):
    # deleting one of its items erases those stores for the subject too (``copies_erase``).
    copied_to: tuple[str, ...] = ()

    def withdrawal_for(self, purpose: str) -> Withdrawal | None:
        """What withdrawing ``purpose`` does here when it is not ``erase``."""
        return next((rule for rule in self.withdrawal if rule.purpose == purpose), None)


@dataclass(frozen=True)
class ServiceStore:
    """Personal data the service holds about people who are not its subjects (the person a
    swap template depicts: their picture, name and signed consent). No subject's erasure
    touches it; the wind-down erases it (README "Closing the service"). ``count()`` is what it
    holds now, ``erase()`` erases everything (in the caller's transaction, files included) and
    returns the number of items erased."""

    name: str  # "<app>.<store>", as for a Store; unique across both kinds
    what: str
    count: Callable[[], int]  # "<store>_count_all"
    erase: Callable[[], int]  # "<store>_erase_all"
    # What the record of processing states of it, as a Store declares it (Art. 30(1)).
    why: str = ""
    retention: str = ""
    legal_basis: str = ""
    recipients: tuple[str, ...] | None = None
    transfers: tuple[str, ...] | None = None
    subjects: tuple[str, ...] = ()
    security: tuple[str, ...] = ()


_stores: dict[str, Store] = {}
_service_stores: dict[str, ServiceStore] = {}


def register_service_store(store: ServiceStore) -> None:
    if store.name in _stores or _service_stores.get(store.name, store) != store:
        raise ValueError(f"store {store.name!r} is registered twice")
    _service_stores[store.name] = store


def service_stores() -> list[ServiceStore]:
    """Every service store, by name (the wind-down's order)."""
    return sorted(_service_stores.values(), key=lambda s: s.name)


def register(store: Store) -> None:
    existing = _stores.get(store.name)
    if store.name in _service_stores or (existing is not None and existing != store):
        raise ValueError(f"store {store.name!r} is registered twice")
    taken = {e.name for s in _stores.values() if s.name != store.name for e in s.expiry}
    for rule in store.expiry:
        if rule.name in taken:
            raise ValueError(f"retention rule {rule.name!r} is registered twice")
    _stores[store.name] = store


def register_all(stores: Iterable[Store | ServiceStore]) -> None:
    """An app's ``STORES``, from its ``AppConfig.ready()``."""
    for store in stores:
        if isinstance(store, ServiceStore):
            register_service_store(store)
        else:
            register(store)


def stores() -> list[Store]:
    """Every store in erasure order: by band, then by name."""
    return sorted(_stores.values(), key=lambda s: (s.band, s.name))


def locate_all(subject_id: int) -> dict[str, list[str]]:
    """What every store still holds for the subject; empty lists mean nothing."""
    return {store.name: list(store.locate(subject_id)) for store in stores()}


def export_all(subject_id: int) -> dict[str, Any]:
    return {store.name: store.export(subject_id) for store in stores()}


def files_all(subject_id: int) -> Iterable[tuple[str, StoreFile]]:
    """(store name, file) for every file any store holds for the subject, one at a time."""
    for store in stores():
        if store.files is not None:
            for item in store.files(subject_id):
                yield store.name, item


def held_all(subject_id: int) -> list[tuple[Store, int]]:
    """(store, how many items) for every store holding something of the subject, in erasure
    order: what an account erasure will erase (its check page lists it)."""
    counted = ((store, items_held(store, subject_id)) for store in stores())
    return [(store, count) for store, count in counted if count]


def stores_for_purpose(purpose: str) -> list[Store]:
    return [store for store in stores() if purpose in store.purposes]


def items_held(store: Store, subject_id: int) -> int:
    """How many items the store holds for the subject: ``count`` where the store has it, else
    what ``locate`` finds (the withdrawal preview's and the wind-down report's numbers)."""
    return store.count(subject_id) if store.count is not None else len(store.locate(subject_id))


def copies_erase(source: str, subject_id: int) -> dict[str, int]:
    """Erase, in the caller's transaction, every store holding copies of items of ``source``
    for the subject (``Store.copied_to``): called when one of those items is deleted, so no
    copy of it outlives it. What was erased, by store."""
    erased = {name: _stores[name].erase(subject_id) for name in _stores[source].copied_to}
    return {name: n for name, n in erased.items() if n}


def copies_held(source: str, subject_id: int) -> list[tuple[Store, int]]:
    """Read-only twin of ``copies_erase``: the stores holding copies that deleting an item of
    ``source`` would erase, with how many items (only those holding some)."""
    counted = (
        (_stores[name], items_held(_stores[name], subject_id)) for name in _stores[source].copied_to
    )
    return [(store, count) for store, count in counted if count]


def _sealed(store: Store, subject_id: int) -> int:
    return store.sealed(subject_id) if store.sealed is not None else items_held(store, subject_id)


def key_needed(subject_id: int) -> bool:
    """Whether any store holding ciphertext under the subject's data key holds anything that
    needs the key (``Store.sealed``)."""
    return any(_sealed(store, subject_id) for store in stores() if store.keyed)


def keys_release(subject_id: int) -> dict[str, int]:
    """Erase the subject's data key (the ``KEYS`` band) if nothing readable needs it any more:
    the crypto-shred of any copy left anywhere (invariant "crypto-shredding",
    docs/ARCHITECTURE.md). Caller's transaction, with the subject's row locked (a capture being
    stored takes that lock before it uses the key); the caller audits what this returns
    (``{store: 1}`` for a key destroyed, nothing when none was)."""
    # mutant: delete — tests/swap/test_withdrawal_semantics.py
    #   test_withdrawing_face_swap_keeps_the_key_that_still_opens_a_capture
    if key_needed(subject_id):
        return {}
    erased = {store.name: store.erase(subject_id) for store in stores() if store.band == Band.KEYS}
    return {name: n for name, n in erased.items() if n}


def withdraw(purpose: str, subject_id: int) -> dict[str, int]:
    """Withdrawal's erasure, in the caller's transaction with the subject's row locked: every
    store of the purpose in erasure order (its ``Withdrawal``, or ``erase``), then the key if
    nothing keyed is left. What was erased, by store: the withdrawal's audit event lists it."""
    erased = {}
    for store in stores_for_purpose(purpose):
        rule = store.withdrawal_for(purpose)
        # mutant: delete — tests/biometrics/test_capture_api.py
        #   test_withdrawing_biometric_consent_erases_captures_and_challenges
        #   tests/swap/test_withdrawal_semantics.py
        #   test_withdrawing_enrolment_erases_every_result_made_from_the_face
        erased[store.name] = (rule.apply if rule else store.erase)(subject_id)
    # mutant: delete — tests/swap/test_withdrawal_semantics.py
    #   test_withdrawing_enrolment_destroys_the_data_key
    erased.update(keys_release(subject_id))
    return erased


@dataclass(frozen=True)
class Preview:
    """What a withdrawal will erase and what stays, per store, computed as ``withdraw`` will
    act: ``erased`` has every store of the purpose (0 included), as the audit event will;
    ``remaining`` the stores that will still hold something, with how many items."""

    erased: list[tuple[Store, int]]
    remaining: list[tuple[Store, int]]


def withdrawal_preview(purpose: str, subject_id: int) -> Preview:
    """Read-only twin of ``withdraw``: the same stores, the same counts, plus the key."""
    erased: list[tuple[Store, int]] = []
    remaining: list[tuple[Store, int]] = []
    keyed_left = 0
    for store in stores():
        if store.band == Band.KEYS:
            continue
        held, going = items_held(store, subject_id), 0
        if purpose in store.purposes:
            rule = store.withdrawal_for(purpose)
            going = rule.count(subject_id) if rule else held
            erased.append((store, going))
        if store.keyed:
            # What the purpose's withdrawal leaves of its stores still needs the key (erased
            # entirely, or kept results); other stores need it for their sealed items.
            keyed_left += held - going if purpose in store.purposes else _sealed(store, subject_id)
        if held - going > 0:
            remaining.append((store, held - going))
    for store in stores():
        if store.band == Band.KEYS:
            held = items_held(store, subject_id)
            going = held if keyed_left == 0 else 0
            if going:
                erased.append((store, going))
            if held - going > 0:
                remaining.append((store, held - going))
    return Preview(erased=erased, remaining=remaining)


# --- the record of processing (GDPR Art. 30) ---------------------------------------------------


class Subjects:
    """Categories of data subjects (Art. 30(1)(c)), as stores declare them."""

    USERS = gettext_noop("People who use the service (signed in with their mobile number)")
    CHILDREN = gettext_noop("Children under 14, with a parent's or guardian's consent")
    GUARDIANS = gettext_noop("Parents and guardians who consent for a child")
    APPLICANTS = gettext_noop("People who ask for a sign-in code, whether or not they sign in")
    STAFF = gettext_noop("Staff members")
    DEPICTED = gettext_noop(
        "People shown in swap templates, who signed their consent to the template's use"
    )


class Security:
    """Security measures (Art. 30(1)(g), Art. 32), as stores declare them."""

    TRANSPORT = gettext_noop("HTTPS only (TLS, HSTS)")
    STAFF_ACCESS = gettext_noop(
        "Staff access by role with two-factor sign-in; numbers masked; every staff view audited"
    )
    AUDITED = gettext_noop("Every change written to a signed, append-only audit log")
    SUBJECT_KEY = gettext_noop(
        "AES-256-GCM under the person's own data key, wrapped by a master key kept outside the "
        "database and rotated; destroying the key makes every copy unreadable"
    )
    MASTER_KEY = gettext_noop("Wrapped by a rotated master key kept outside the database")
    DIGESTS = gettext_noop("Held as keyed digests (HMAC-SHA-256) or hashes, never in clear")
    APPEND_ONLY = gettext_noop("Append-only: the database refuses changes and deletions")
    SIGNED = gettext_noop("Signed with Ed25519")
    SHORT_LIVED = gettext_noop("Kept minutes, then deleted automatically")
    IN_MEMORY = gettext_noop("Read in memory only; leftovers are searched for and deleted")


# What every store has, whatever else it declares.
BASELINE_SECURITY = (Security.TRANSPORT, Security.STAFF_ACCESS, Security.AUDITED)


@dataclass(frozen=True)
class Recipient:
    """A processor that receives or hosts personal data (Art. 28, Art. 30(1)(d)). Who it is
    and where comes from settings: ``<setting>`` names the provider, ``<setting>_COUNTRY`` its
    country (ISO 3166), ``<setting>_SAFEGUARD`` the safeguard of a transfer out of the
    controller's country (Art. 46; PIPL Art. 38)."""

    key: str
    role: str
    setting: str

    def provider(self) -> str:
        return getattr(settings, self.setting)

    def country(self) -> str:
        return getattr(settings, f"{self.setting}_COUNTRY") or settings.CONTROLLER_JURISDICTION

    def safeguard(self) -> str:
        return getattr(settings, f"{self.setting}_SAFEGUARD")


HOSTING = "hosting"
SMS_GATEWAY = "sms_gateway"
RECIPIENTS = {
    HOSTING: Recipient(
        HOSTING,
        gettext_noop("Hosting provider (processor): runs the servers, database and file storage"),
        "RECIPIENT_HOSTING",
    ),
    SMS_GATEWAY: Recipient(
        SMS_GATEWAY,
        gettext_noop("SMS gateway (processor): delivers sign-in codes to mobile numbers"),
        "RECIPIENT_SMS_GATEWAY",
    ),
}


class RecordIncomplete(ValueError):
    """A store leaves out something the record of processing must state."""


def record_gaps(store: Store | ServiceStore) -> list[str]:
    """What Art. 30(1) asks that ``store`` does not declare (empty: complete)."""
    gaps = [name for name in ("recipients", "transfers") if getattr(store, name) is None]
    gaps += [name for name in ("subjects", "security") if not getattr(store, name)]
    gaps += [
        f"unknown recipient {key!r}" for key in store.recipients or () if key not in RECIPIENTS
    ]
    return gaps


def transfers_of(store: Store | ServiceStore) -> list[str]:
    """The store's transfers out of the controller's country: its own, then each recipient's
    that is elsewhere, with the safeguard the settings name."""
    home = settings.CONTROLLER_JURISDICTION
    out = list(store.transfers or ())
    for key in store.recipients or ():
        recipient = RECIPIENTS[key]
        if recipient.country() != home:
            out.append(f"{recipient.provider()} ({recipient.country()}): {recipient.safeguard()}")
    return out


def controller_record() -> dict[str, str]:
    """Art. 30(1)(a): the controller, its representative and the DPO, from settings."""
    return {
        "controller": settings.CONTROLLER_NAME,
        "address": settings.CONTROLLER_ADDRESS,
        "email": settings.CONTROLLER_EMAIL,
        "phone": settings.CONTROLLER_PHONE,
        "jurisdiction": settings.CONTROLLER_JURISDICTION,
        "representative": settings.CONTROLLER_REPRESENTATIVE,
        "dpo": settings.DPO_NAME,
        "dpo_email": settings.DPO_EMAIL,
    }


def recipients_record() -> list[dict[str, str]]:
    """Every recipient some store names, with who and where it is."""
    every: list[Store | ServiceStore] = [*stores(), *service_stores()]
    used = {key for store in every for key in store.recipients or ()}
    return [
        {
            "recipient": key,
            "role": recipient.role,
            "provider": recipient.provider(),
            "country": recipient.country(),
            "safeguard": recipient.safeguard()
            if recipient.country() != settings.CONTROLLER_JURISDICTION
            else "",
        }
        for key, recipient in RECIPIENTS.items()
        if key in used
    ]


def record_of_processing() -> list[dict[str, Any]]:
    """GDPR Art. 30(1), one row per store (subjects' stores, then service stores such as the
    depicted persons'): categories of data and of data subjects, purposes, legal basis,
    recipients, transfers, time limits and security measures. Refuses (``RecordIncomplete``)
    while any store leaves one of them out. Strings are the stores' English descriptions
    (``gettext_noop``); renderers translate them."""
    every: list[Store | ServiceStore] = [*stores(), *service_stores()]
    gaps = {store.name: record_gaps(store) for store in every}
    gaps = {name: missing for name, missing in gaps.items() if missing}
    # mutant: negate — tests/compliance_site/test_record_of_processing.py
    #   test_the_record_refuses_a_store_that_lacks_a_field_article_30_requires
    if gaps:
        raise RecordIncomplete(f"the record of processing lacks {gaps}")
    return [
        {
            "store": store.name,
            "data": store.what,
            "subjects": list(store.subjects),
            "purpose": store.why,
            "legal_basis": store.legal_basis,
            "recipients": [RECIPIENTS[key].role for key in store.recipients or ()],
            "transfers": transfers_of(store),
            "retention": store.retention,
            "security": list(store.security),
        }
        for store in every
    ]


def expiries() -> list[Expiry]:
    """Every retention rule, in the erasure order of the stores that declare them."""
    return [rule for store in stores() for rule in store.expiry]


def retention_sweep(now: datetime) -> dict[str, Swept]:
    """Run every retention rule in the caller's transaction; what each erased, by rule name.
    Callers audit the result in the same transaction (``audit.services.retention_sweep``)."""
    return {rule.name: rule.erase(now) for rule in expiries()}


# --- the subject's key ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SubjectCipher:
    """Encryption under a subject's own data key, for apps below the one that holds the keys:
    what is sealed with it dies with the key (invariant "crypto-shredding",
    docs/ARCHITECTURE.md). ``seal(subject_id, plaintext, aad)`` makes the key if needed; ``open``
    raises once the key is destroyed."""

    seal: Callable[[int, bytes, str], bytes]
    open: Callable[[int, bytes, str], bytes]


_cipher: list[SubjectCipher] = []


def register_subject_cipher(cipher: SubjectCipher) -> None:
    if _cipher and _cipher[0] != cipher:
        raise ValueError("a subject cipher is registered twice")
    _cipher[:] = [cipher]


def subject_cipher() -> SubjectCipher:
    if not _cipher:
        raise LookupError("no app registered a subject cipher")
    return _cipher[0]
