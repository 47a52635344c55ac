"""C2PA Content Credentials on swap outputs, where ``c2pa-python`` works (invariant 8).

Optional: ``c2pa_available()`` says whether the package and its native library load here; the
XMP / MP4-tag provenance does not depend on it. A manifest states one ``c2pa.created`` action
with the IPTC digital source type ``compositeWithTrainedAlgorithmicMedia`` and our own
assertion with the job's id, engine and time, and is signed with the operator's certificate
(PEM chain and key, as bytes; the service reads them from settings). Signing and reading are
offline: no timestamp authority, no OCSP, no remote manifests. No thumbnail is embedded (the
output itself is the only copy of the picture we want to keep).

Certificates C2PA validators accept: an end-entity certificate (CA=false) with a critical
keyUsage digitalSignature and extended key usage emailProtection (or documentSigning), chained
to a CA the reader trusts.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any

ASSERTION_LABEL = "com.faceledger.provenance"
ALGORITHMS = frozenset({"es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519"})
_OFFLINE = {"ocsp_fetch": False, "remote_manifest_fetch": False}


@functools.cache
def c2pa_available() -> bool:
    """True when ``c2pa`` imports and its native library loads on this machine."""
    try:
        import c2pa

        c2pa.sdk_version()
    except (ImportError, OSError, AttributeError):
        return False
    return True


@dataclass(frozen=True)
class C2paCredentials:
    """The signing certificate chain (leaf first) and its private key, PEM bytes."""

    certificate_chain_pem: bytes
    private_key_pem: bytes
    algorithm: str = "es256"

    def __post_init__(self):
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown C2PA signing algorithm {self.algorithm!r}")
        if b"BEGIN CERTIFICATE" not in self.certificate_chain_pem:
            raise ValueError("the C2PA certificate chain must be PEM")
        if b"PRIVATE KEY" not in self.private_key_pem:
            raise ValueError("the C2PA private key must be PEM")


class C2paSetupError(RuntimeError):
    """With credentials set, c2pa-python does not load here or cannot sign with them."""


_PROBE_FIELDS = {
    "label": "start-up check",
    "job_id": "none",
    "engine": "none",
    "created": "1970-01-01T00:00:00Z",
    "digital_source_type": "http://cv.iptc.org/newscodes/digitalsourcetype/"
    "compositeWithTrainedAlgorithmicMedia",
}


def _probe_png() -> bytes:
    """A 1×1 PNG to sign at start-up."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def c2pa_self_test(credentials: C2paCredentials) -> None:
    """Sign a 1×1 PNG as every output will be signed (a few ms), and read it back; raise
    ``C2paSetupError`` if c2pa-python does not load or the chain and key cannot sign. Run at
    start-up: with credentials set, an output must never go out unsigned because the library
    or the signer failed."""
    if not c2pa_available():
        raise C2paSetupError("c2pa-python (or its native library) does not load on this machine")
    try:
        signed = c2pa_sign(
            _probe_png(), mime_type="image/png", fields=_PROBE_FIELDS, credentials=credentials
        )
        state = c2pa_read(signed, mime_type="image/png")["state"]
    except Exception as exc:  # c2pa raises its own error classes, not one base
        raise C2paSetupError(f"c2pa cannot sign with these credentials: {exc}") from exc
    if state not in ("Valid", "Trusted"):
        raise C2paSetupError(f"c2pa signed a test image its reader finds {state!r}")


def _require() -> Any:
    if not c2pa_available():
        raise RuntimeError("c2pa-python is not available on this machine")
    import c2pa

    return c2pa


def manifest_definition(fields: dict[str, str]) -> dict[str, Any]:
    """The manifest for one output: the created action with its source type, and our fields."""
    return {
        "claim_generator_info": [{"name": "Faceledger", "version": "0.1.0"}],
        "title": f"{fields['label']} output of job {fields['job_id']}",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": fields["digital_source_type"],
                            "softwareAgent": {"name": f"Faceledger swap engine {fields['engine']}"},
                            "when": fields["created"],
                        }
                    ]
                },
            },
            {"label": ASSERTION_LABEL, "data": dict(fields)},
            soft_binding(fields["job_id"]),
        ],
    }


def soft_binding(job_id: str) -> dict[str, Any]:
    """The C2PA soft-binding assertion: the invisible watermark in the pixels (``watermark``)
    and the value it carries, so a copy stripped of its manifest can be matched to it again."""
    from . import watermark

    value = base64.b64encode(bytes.fromhex(watermark.mark_of(job_id))).decode()
    return {
        "label": "c2pa.soft-binding",
        "data": {"alg": watermark.ALGORITHM, "blocks": [{"scope": {}, "value": value}]},
    }


def c2pa_sign(
    data: bytes, *, mime_type: str, fields: dict[str, str], credentials: C2paCredentials
) -> bytes:
    """``data`` (a PNG or an MP4) with a signed C2PA manifest embedded."""
    c2pa = _require()
    settings = c2pa.Settings.from_dict(
        {"builder": {"thumbnail": {"enabled": False}}, "verify": dict(_OFFLINE)}
    )
    info = c2pa.C2paSignerInfo(
        credentials.algorithm.encode(),
        credentials.certificate_chain_pem,
        credentials.private_key_pem,
        None,  # no timestamp authority: signing stays offline
    )
    signer = c2pa.Signer.from_info(info)
    try:
        with c2pa.Context(settings=settings) as context:
            builder = c2pa.Builder(manifest_definition(fields), context)
            out = io.BytesIO()
            builder.sign(signer, mime_type, io.BytesIO(data), out)
    finally:
        signer.close()
    return out.getvalue()


def c2pa_read(data: bytes, *, mime_type: str, trust_anchors_pem: bytes | None = None) -> dict:
    """What a C2PA reader makes of ``data``: ``{"state", "failures", "digital_source_type",
    **our fields}``; ``state`` is ``Trusted`` (signed by a chain to ``trust_anchors_pem``),
    ``Valid`` (intact, signer not trusted), ``Invalid``, or None when there is no manifest."""
    c2pa = _require()
    verify: dict[str, Any] = dict(_OFFLINE, verify_trust=trust_anchors_pem is not None)
    config: dict[str, Any] = {"verify": verify}
    if trust_anchors_pem is not None:
        config["trust"] = {"trust_anchors": trust_anchors_pem.decode()}
    with c2pa.Context(settings=c2pa.Settings.from_dict(config)) as context:
        try:
            with c2pa.Reader(mime_type, io.BytesIO(data), context=context) as reader:
                store = json.loads(reader.json())
        except c2pa.C2paError.ManifestNotFound:
            return {"state": None, "failures": []}
    return _summary(store)


def _summary(store: dict) -> dict:
    manifest = store.get("manifests", {}).get(store.get("active_manifest"), {})
    results = store.get("validation_results", {}).get("activeManifest", {})
    summary: dict[str, Any] = {
        "state": store.get("validation_state"),
        "failures": [item.get("code") for item in results.get("failure", [])],
    }
    for assertion in manifest.get("assertions", []):
        if assertion.get("label") == ASSERTION_LABEL:
            summary.update(assertion.get("data", {}))
        elif assertion.get("label", "").startswith("c2pa.actions"):
            actions = assertion.get("data", {}).get("actions", [])
            created = [a for a in actions if a.get("action") == "c2pa.created"]
            if created:
                summary["action_digital_source_type"] = created[0].get("digitalSourceType")
    return summary
