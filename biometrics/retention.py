"""Retention rules: what each store erases once its time is up (DESIGN invariant 7).

A rule is a function ``sweep(now) -> Swept`` that erases, in the caller's transaction and
through the same per-item erase functions as deletion, withdrawal and erasure, whatever its
purpose's rule says has expired at ``now``. A rule that deletes a subject's data under a consent
purpose reads the consent state through the gate first, as every deletion does, and reports
how many items it erased in each state (``Swept.consent``). Apps register rules from
``AppConfig.ready()``; ``services.retention_sweep`` (the ``retention_sweep`` command and a
Celery beat entry) runs them all in one transaction with one audit event carrying the counts.

Rules live here rather than in ``compliance_site.inventory`` because only apps from
``biometrics`` up need them (consent prunes its own sign-in data with ``identity_prune``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Swept:
    erased: int = 0
    # Items erased per consent state read through the gate ("granted", "consent_required", ...).
    consent: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RetentionRule:
    name: str  # usually the inventory store it sweeps; the sweep's audit event counts by it
    sweep: Callable[[datetime], Swept]


_rules: dict[str, RetentionRule] = {}


def register(rule: RetentionRule) -> None:
    existing = _rules.get(rule.name)
    if existing is not None and existing != rule:
        raise ValueError(f"retention rule {rule.name!r} is registered twice")
    _rules[rule.name] = rule


def rules() -> list[RetentionRule]:
    return sorted(_rules.values(), key=lambda rule: rule.name)
