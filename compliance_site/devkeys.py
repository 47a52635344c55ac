"""Development-only secrets, made once on first use and kept under ``var/keys``.

Only the local settings call this; production reads every secret from the environment.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path


def _ensure(path: Path, make: Callable[[], str]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when two processes start at once, one writes and the other reads.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    value = make()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value)
    return value


def secret_key(folder: Path) -> str:
    return _ensure(folder / "django_secret_key", lambda: secrets.token_urlsafe(50))


def ed25519_pem(folder: Path, name: str) -> str:
    def make() -> str:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return (
            Ed25519PrivateKey.generate()
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
        )

    return _ensure(folder / name, make)


def test_ed25519_pem(name: str) -> str:
    """A fixed Ed25519 key derived from ``name``: for the test settings only (anyone can
    derive it, so it protects nothing)."""
    import hashlib

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = hashlib.sha256(b"faceledger test key\n" + name.encode()).digest()
    return (
        Ed25519PrivateKey.from_private_bytes(seed)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def master_key_store(store: Path, *, legacy: Path) -> None:
    """A master-key store with a current key (see ``keystore``). A development key from before
    the key store (``biometric_master_key``, id ``dev1``) is imported so old local data opens,
    then deleted: destroying ``dev1`` must leave no copy (existing checkouts too)."""
    import base64
    import datetime as dt

    from compliance_site import keystore

    keystore.ensure_folder(store)
    with keystore.locked(store):  # the web server and the worker start at once
        now = dt.datetime.now(dt.UTC)  # settings are not ready yet: no timezone.now()
        old = legacy / "biometric_master_key"
        if any(entry.retired_at is None for entry in keystore.all_keys(store)):
            pass  # a current key already
        elif old.exists() and keystore.get("dev1", store) is None:
            key = base64.b64decode(old.read_text(encoding="utf-8").strip())
            keystore.create(now=now, key_id="dev1", key=key, path=store)
        else:
            keystore.create(now=now, path=store)
        if old.exists() and keystore.get("dev1", store) is not None:
            # The store holds it now: a copy left here would outlive destroying dev1.
            keystore.shred(old)


def private_file(path: Path) -> None:
    """Create ``path`` (if missing) readable by this user only, and tighten it if it exists:
    SQLite then creates its -wal and -shm files with the same mode."""
    if str(path) == ":memory:":
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    path.chmod(0o600)


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----\n.+?\n-----END \1-----", re.DOTALL)


def c2pa_dev_credentials(folder: Path) -> tuple[str, str]:
    """``(certificate chain, private key)`` PEM for signing swap outputs with C2PA locally.

    A development CA (self-signed) and a signing certificate it issued, both for this machine
    only: C2PA readers call the result "Valid" but not "Trusted" unless told to trust that CA
    (its certificate is the chain's last). Kept in one file, so the key and its certificate are
    made together even when two processes start at once. Valid about two years; delete
    ``var/keys/c2pa_dev.pem`` for a new pair."""
    bundle = _ensure(folder / "c2pa_dev.pem", _c2pa_dev_bundle)
    blocks = {"PRIVATE KEY": "", "CERTIFICATE": ""}
    for match in _PEM_BLOCK.finditer(bundle):
        blocks[match.group(1)] += match.group(0) + "\n"
    return blocks["CERTIFICATE"], blocks["PRIVATE KEY"]


def _c2pa_dev_bundle() -> str:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common_name: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Faceledger development"),
            ]
        )

    def certificate(subject, issuer, public_key, issuer_key, *, ca: bool) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        usage = dict.fromkeys(
            ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement"), False
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=730))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=not ca,
                    key_cert_sign=ca,
                    crl_sign=ca,
                    encipher_only=False,
                    decipher_only=False,
                    **usage,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        )
        if not ca:
            # What C2PA validators ask of a signer: an end entity for e-mail protection.
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            ).add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                critical=False,
            )
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate(
        name("Faceledger dev CA"), name("Faceledger dev CA"), ca_key.public_key(), ca_key, ca=True
    )
    leaf = certificate(
        name("Faceledger dev signer"), ca.subject, key.public_key(), ca_key, ca=False
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (key_pem + leaf.public_bytes(pem) + ca.public_bytes(pem)).decode()
