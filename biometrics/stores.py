"""The biometric stores in the personal-data inventory, with their retention rules.

Registered from ``BiometricsConfig.ready()``. Withdrawing ``biometric_enrolment`` erases the
captures and challenges (and, through swap's and reports' stores, everything made from them);
erasing an account erases them and then the subject key (band ``KEYS``: destroying it is the
crypto-shred that makes any copy left anywhere unreadable). The key also goes as soon as no
``keyed`` store holds anything for the subject: after a withdrawal (``inventory.withdraw``),
a deletion (``services.subject_key_release``) and in the retention sweep
(``subject_keys_expired_erase``). A later capture makes a new key.

Descriptions are marked for translation (``gettext_noop``) and translated where shown.

Two hooks for ``consent``, which must not import this app: the captures' photos decrypted in
memory (``captures_files``: the subject's own copy in the export zip and the report's
thumbnails), and encryption under the subject's key (``SUBJECT_CIPHER``: stored reports die
with the key).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.utils.translation import gettext_noop, ngettext_lazy

from biometrics import selectors, services, vault
from biometrics.models import Capture
from compliance_site import inventory
from compliance_site.crypto import DecryptionError
from consent.identity.models import User


def captures_files(subject_id: int) -> Iterator[inventory.StoreFile]:
    """Each capture's photo (JPEG), decrypted in memory for the subject's own copy. A capture
    whose key or file is already gone (an erasure under way) is skipped, not an error."""
    rows = Capture.objects.filter(subject_id=subject_id).order_by("created_at")
    for pk, photo in rows.values_list("pk", "photo"):
        try:
            jpeg = vault.unseal(subject_id, vault.blob_read(photo), aad=services.aad(pk, "photo"))
        except (DecryptionError, FileNotFoundError):
            continue
        yield inventory.StoreFile(
            ref=str(pk), name=f"{pk}.jpg", content_type="image/jpeg", data=jpeg
        )


def subject_seal(subject_id: int, plaintext: bytes, aad: str) -> bytes:
    """Encrypt under the subject's data key, made (and audited) now if they have none. Runs in
    the caller's transaction, with the subject's row locked
    (``consent.ledger.gate.lock_subject``)."""
    key = services.subject_key_for_use(subject=User.objects.get(pk=subject_id))
    return vault.seal(key, plaintext, aad=aad)


def subject_open(subject_id: int, blob: bytes, aad: str) -> bytes:
    return vault.unseal(subject_id, blob, aad=aad)


SUBJECT_CIPHER = inventory.SubjectCipher(seal=subject_seal, open=subject_open)


STORES = (
    inventory.Store(
        name="biometrics.captures",
        what=gettext_noop(
            "Face photos (encrypted files), face embeddings and landmarks (encrypted), and the "
            "result of the liveness check. The liveness video is never kept."
        ),
        why=gettext_noop("Enrolling your face so that swaps you ask for use it"),
        retention=gettext_noop(
            "Until you delete the capture or withdraw consent, or 365 days after it was last used"
        ),
        legal_basis=gettext_noop("Explicit consent (GDPR Art. 9(2)(a))"),
        locate=selectors.captures_locate,
        export=selectors.captures_export,
        erase=services.captures_erase,
        band=inventory.Band.CAPTURES,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.USERS, inventory.Subjects.CHILDREN),
        security=(*inventory.BASELINE_SECURITY, inventory.Security.SUBJECT_KEY),
        purposes=("biometric_enrolment",),
        # A stored report shows thumbnails of the photos: deleting a capture erases them.
        copied_to=("consent.reports",),
        count=services.captures_count,
        keyed=True,
        items=ngettext_lazy("%(count)d face capture", "%(count)d face captures", "count"),
        files=captures_files,
        expiry=(
            inventory.Expiry("biometrics.captures", services.captures_expired_erase),
            inventory.Expiry("biometrics.orphan_files", services.orphan_files_expired_erase),
        ),
    ),
    inventory.Store(
        name="biometrics.challenges",
        what=gettext_noop(
            "Liveness challenges: the movements asked for and the moments at which each was asked"
        ),
        why=gettext_noop("Checking that a capture is recorded live, not replayed"),
        retention=gettext_noop("2 minutes; deleted when used or by the next retention sweep"),
        legal_basis=gettext_noop("Explicit consent (GDPR Art. 9(2)(a))"),
        locate=selectors.challenges_locate,
        export=selectors.challenges_export,
        erase=services.challenges_erase,
        band=inventory.Band.CAPTURES,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.USERS, inventory.Subjects.CHILDREN),
        security=(*inventory.BASELINE_SECURITY,),
        purposes=("biometric_enrolment",),
        count=services.challenges_count,
        items=ngettext_lazy(
            "%(count)d liveness challenge", "%(count)d liveness challenges", "count"
        ),
        expiry=(inventory.Expiry("biometrics.challenges", services.challenges_expired_erase),),
    ),
    inventory.Store(
        name="biometrics.subject_key",
        what=gettext_noop(
            "Your data key, stored only encrypted under our master key; it opens your encrypted "
            "face data"
        ),
        why=gettext_noop("Encrypting your face data so that erasing the key erases every copy"),
        retention=gettext_noop(
            "As long as something of yours encrypted under it is kept; destroyed as soon as "
            "nothing is (after a withdrawal, a deletion or the retention sweep) or when the "
            "account is erased. A copy in a database backup stops opening when the master key "
            "it was encrypted under is destroyed, by the date stated on the erasure certificate"
        ),
        legal_basis=gettext_noop("Security of processing (GDPR Art. 32)"),
        locate=selectors.subject_key_locate,
        export=selectors.subject_key_export,
        erase=services.subject_key_erase,
        # After everything it encrypts (DERIVED, CAPTURES): destroying it is the crypto-shred.
        band=inventory.Band.KEYS,
        recipients=(inventory.HOSTING,),
        transfers=(),
        subjects=(inventory.Subjects.USERS, inventory.Subjects.CHILDREN),
        security=(*inventory.BASELINE_SECURITY, inventory.Security.MASTER_KEY),
        count=services.subject_key_count,
        items=ngettext_lazy("%(count)d data key", "%(count)d data keys", "count"),
        expiry=(inventory.Expiry("biometrics.subject_keys", services.subject_keys_expired_erase),),
    ),
)
