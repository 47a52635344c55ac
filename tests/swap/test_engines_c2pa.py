"""C2PA Content Credentials on swap outputs, signed offline with a test CA made here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from swap.engines.content_credentials import (
    C2paCredentials,
    c2pa_available,
    c2pa_read,
    c2pa_sign,
)
from swap.engines.label import DIGITAL_SOURCE_TYPE, read_png_provenance
from swap.engines.mp4 import top_level_boxes
from swap.engines.video import iter_frames, read_mp4_provenance, swap_image, swap_video

pytestmark = pytest.mark.skipif(not c2pa_available(), reason="c2pa-python is not available")

CREATED = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)
PEM = serialization.Encoding.PEM


@dataclass(frozen=True)
class Pki:
    credentials: C2paCredentials
    ca_pem: bytes


def _usage(*, signer: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signer,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signer,
        crl_sign=not signer,
        encipher_only=False,
        decipher_only=False,
    )


def _certificate(subject, issuer, public_key, issuer_key, *, ca: bool):
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(_usage(signer=not ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Faceledger tests"),
        ]
    )


@pytest.fixture(scope="session")
def pki() -> Pki:
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(_name("Test CA"), _name("Test CA"), ca_key.public_key(), ca_key, ca=True)
    leaf = _certificate(_name("Test signer"), ca.subject, key.public_key(), ca_key, ca=False)
    key_pem = key.private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    chain = leaf.public_bytes(PEM) + ca.public_bytes(PEM)
    return Pki(C2paCredentials(chain, key_pem), ca.public_bytes(PEM))


@pytest.fixture(scope="session")
def signed_png(pki, engine, analyser, astronaut, astronaut_face, other_person):
    import cv2

    target = cv2.imencode(".png", other_person)[1].tobytes()
    return swap_image(
        astronaut,
        astronaut_face,
        target,
        engine,
        analyser,
        job_id="job-c2pa",
        created=CREATED,
        c2pa_credentials=pki.credentials,
    )


def test_a_signed_png_is_trusted_and_states_the_ai_source_type_and_the_job(signed_png, pki):
    found = c2pa_read(signed_png, mime_type="image/png", trust_anchors_pem=pki.ca_pem)

    assert found["state"] == "Trusted", found
    assert found["failures"] == []
    assert found["action_digital_source_type"] == DIGITAL_SOURCE_TYPE
    assert found["job_id"] == "job-c2pa"
    assert found["engine"] == "classic"
    # The XMP provenance is still there next to the manifest.
    assert read_png_provenance(signed_png)["job_id"] == "job-c2pa"


def test_a_signed_png_from_an_unknown_signer_is_intact_but_not_trusted(signed_png):
    assert c2pa_read(signed_png, mime_type="image/png")["state"] == "Valid"


def test_changing_one_byte_of_a_signed_png_breaks_its_manifest(signed_png, pki):
    tampered = bytearray(signed_png)
    tampered[-200] ^= 0xFF

    found = c2pa_read(bytes(tampered), mime_type="image/png", trust_anchors_pem=pki.ca_pem)

    assert found["state"] == "Invalid"
    assert found["failures"]


def test_a_png_without_a_manifest_reads_as_none(astronaut):
    import cv2

    plain = cv2.imencode(".png", astronaut)[1].tobytes()

    assert c2pa_read(plain, mime_type="image/png") == {"state": None, "failures": []}


def test_a_signed_clip_is_trusted_still_plays_and_keeps_its_index_first(
    pki, clip_with_audio, other_person, other_face, engine, analyser
):
    out = swap_video(
        other_person,
        other_face,
        clip_with_audio,
        engine,
        analyser,
        job_id="job-clip",
        on_progress=lambda _: None,
        should_stop=lambda: False,
        created=CREATED,
        c2pa_credentials=pki.credentials,
    )

    found = c2pa_read(out, mime_type="video/mp4", trust_anchors_pem=pki.ca_pem)
    assert found["state"] == "Trusted", found
    assert found["job_id"] == "job-clip"
    assert read_mp4_provenance(out)["job_id"] == "job-clip"
    kinds = [kind for kind, _, _ in top_level_boxes(out)]
    assert kinds.index(b"moov") < kinds.index(b"mdat")
    assert len(list(iter_frames(out))) == len(list(iter_frames(clip_with_audio)))


def test_signing_data_that_is_not_the_declared_type_fails_loudly(pki):
    fields = {
        "digital_source_type": DIGITAL_SOURCE_TYPE,
        "job_id": "j",
        "engine": "classic",
        "created": CREATED.isoformat(),
        "label": "AI-generated",
    }

    import c2pa

    with pytest.raises(c2pa.C2paError, match="could not be parsed"):
        c2pa_sign(b"not a png", mime_type="image/png", fields=fields, credentials=pki.credentials)


def test_credentials_that_are_not_pem_are_refused():
    with pytest.raises(ValueError, match="PEM"):
        C2paCredentials(b"garbage", b"-----BEGIN PRIVATE KEY-----")
    with pytest.raises(ValueError, match="algorithm"):
        C2paCredentials(b"-----BEGIN CERTIFICATE-----", b"PRIVATE KEY", algorithm="md5")
