"""The tombstone: a static site the wind-down leaves behind (README "Closing the service").

Plain files that any web host can serve once the service is gone, and that need nothing of it:

- ``index.html`` (and ``index.zh-hans.html``): what happened, the counts, how to verify;
- ``lookup.html`` (and ``lookup.zh-hans.html``): a person types the secret token of their
  erasure (or follows the link in their text message, which carries it after ``#``, never sent
  to the host); the page computes its SHA-256 in the browser and fetches
  ``certificates/<sha-256>.json`` — the erasure request keeps only that digest, so the file
  name is all the site knows of the token, and nobody can list or guess certificates;
- ``certificates/<sha-256>.json``: each signed certificate, as issued;
- ``wind-down-report.json`` (signed) and ``wind-down-report.pdf`` (printable, first page a
  summary);
- ``checkpoint.json`` and ``checkpoint.txt`` (the final checkpoint, also as the C2SP signed
  note: ``verify_audit.py --trusted-checkpoint`` takes it), ``keys.json`` (the signing keys,
  current and retired), ``verify_audit.py`` (the offline verifier) and ``audit-bundle.zip``
  (the auditor bundle, written by the wind-down).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import translation

from audit import signing
from audit.models import AuditCheckpoint
from audit.selectors import checkpoint_note
from audit.services import VERIFIER_PATH
from consent.erasure.models import ErasureRequest
from consent.erasure.pdf import wind_down_report_pdf

REPORT_JSON = "wind-down-report.json"
REPORT_PDF = "wind-down-report.pdf"
CERTIFICATES = "certificates"
# The pages in each language: (language, suffix of the file names).
LANGUAGES = (("en", ""), ("zh-hans", ".zh-hans"))


def tombstone_write(*, out: Path, report: dict) -> list[str]:
    """Write every file of the tombstone into ``out`` (next to the bundle the wind-down wrote
    there); returns the names written, sorted."""
    written = [_write(out / REPORT_JSON, _json(report))]
    with translation.override("en"):
        written.append(_write(out / REPORT_PDF, wind_down_report_pdf(report)))
    checkpoint = AuditCheckpoint.objects.get(tree_size=report["final_checkpoint"]["tree_size"])
    written.append(_write(out / "checkpoint.json", _json(report["final_checkpoint"])))
    written.append(_write(out / "checkpoint.txt", checkpoint_note(checkpoint).encode()))
    written.append(_write(out / "keys.json", _json(signing.key_history_json())))
    written.append(_write(out / "verify_audit.py", VERIFIER_PATH.read_bytes()))
    (out / CERTIFICATES).mkdir(exist_ok=True)
    for digest, certificate in _certificates():
        written.append(_write(out / CERTIFICATES / f"{digest}.json", certificate.encode()))
    for language, suffix in LANGUAGES:
        context = _context(report, suffix)
        with translation.override(language):
            for page in ("index", "lookup"):
                html = render_to_string(f"tombstone/{page}.html", context)
                written.append(_write(out / f"{page}{suffix}.html", html.encode()))
    return sorted(str(Path(name).relative_to(out)) for name in written)


def _certificates():
    rows = ErasureRequest.objects.filter(status=ErasureRequest.Status.DONE)
    yield from rows.values_list("token_digest", "certificate")


def _context(report: dict, suffix: str) -> dict:
    other = ".zh-hans" if suffix == "" else ""
    return {
        "report": report,
        "stores": report["stores"],
        "checkpoint": report["final_checkpoint"],
        "keys": report["keys"],
        "suffix": suffix,
        "other": other,
        "bundle": report["audit_bundle"]["file"],
        "report_json": REPORT_JSON,
        "report_pdf": REPORT_PDF,
    }


def _json(value: dict | list) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1).encode()


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)
