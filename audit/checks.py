"""System checks of the audit log's settings."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from audit import witness


def witness_problems(witnesses: list[dict], quorum: int) -> list[str]:
    """What is wrong with ``AUDIT_WITNESSES`` / ``AUDIT_WITNESS_QUORUM``."""
    problems = []
    names = set()
    for config in witnesses:
        try:
            verifier = witness.parse_vkey(config.get("vkey", ""))
        except witness.FormatError as exc:
            problems.append(f"AUDIT_WITNESSES: {exc}")
            continue
        if verifier.sig_type != witness.COSIGNATURE_V1:
            problems.append(f"AUDIT_WITNESSES: {verifier.name} is not a cosignature/v1 key")
        if not config.get("url", "").startswith(("http://", "https://")):
            problems.append(f"AUDIT_WITNESSES: {verifier.name} needs an http(s) URL after its key")
        if verifier.name in names:
            problems.append(f"AUDIT_WITNESSES: {verifier.name} is listed twice")
        names.add(verifier.name)
    if not 0 <= quorum <= len(witnesses):
        problems.append(
            f"AUDIT_WITNESS_QUORUM={quorum} must be between 0 and the {len(witnesses)} witnesses"
        )
    return problems


@register()
def check_witnesses(app_configs, **kwargs) -> list[Error]:
    return [
        Error(problem, hint='Each entry: "<witness vkey> <URL>".', id="audit.E001")
        for problem in witness_problems(settings.AUDIT_WITNESSES, settings.AUDIT_WITNESS_QUORUM)
    ]


@register()
def check_log_origin(app_configs, **kwargs) -> list[Error]:
    """The log id is the checkpoints' C2SP origin and the name of the log's note key."""
    try:
        witness.check_key_name(settings.AUDIT_LOG_ID)
    except witness.FormatError as exc:
        return [
            Error(
                f"AUDIT_LOG_ID: {exc}",
                hint='A schema-less URL naming this log, e.g. "faceledger.example/audit".',
                id="audit.E002",
            )
        ]
    return []
