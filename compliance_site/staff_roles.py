"""Staff roles: Django groups holding exactly the permissions the apps grant them.

The roles are named here, below every app; each app grants its own permissions from its
``AppConfig.ready()`` (``staff_roles.grant("dpo", "swap.add_swaptemplate")``), so no app names
another's permissions. ``consent.identity.services.staff_roles_sync`` (run after every migrate)
makes each role's group hold exactly ``permissions(role)``. No role sees biometric data: the
admin shows none (biometrics.admin).
"""

from __future__ import annotations

from collections.abc import Iterable

ROLES: tuple[str, ...] = (
    # Data-subject requests, and the subject list with masked phone numbers; may reveal one
    # person's full number (audited) when the person asks for help.
    "support",
    # Publishes policies and approves templates: records their licences and the depicted
    # people's consents.
    "dpo",
    # Exports of the audit log (/auditor/ and the API, audit.apis); nothing in the admin.
    "auditor",
)

_granted: dict[str, set[str]] = {role: set() for role in ROLES}


def grant(role: str, *permissions: str) -> None:
    """Give ``role`` these ``app_label.codename`` permissions (idempotent)."""
    if role not in _granted:
        raise ValueError(f"Unknown staff role {role!r}: one of {', '.join(ROLES)}.")
    _granted[role].update(permissions)


def permissions(role: str) -> tuple[str, ...]:
    """The permissions granted to ``role``, sorted."""
    return tuple(sorted(_granted[role]))


_landings: dict[str, str] = {}


def landing(role: str, url_name: str) -> None:
    """The page ``role`` starts from when the admin shows it nothing (the auditor's
    ``/auditor/``), registered by the app that owns it."""
    if role not in _granted:
        raise ValueError(f"Unknown staff role {role!r}: one of {', '.join(ROLES)}.")
    _landings[role] = url_name


def landing_for(roles: Iterable[str]) -> str | None:
    """The URL name of the first of ``roles`` (in ``ROLES`` order) with a landing page."""
    return next((_landings[r] for r in ROLES if r in set(roles) and r in _landings), None)


def granted() -> dict[str, tuple[str, ...]]:
    """Every role and its permissions."""
    return {role: permissions(role) for role in ROLES}


def unknown(roles: Iterable[str]) -> list[str]:
    return sorted(set(roles) - set(ROLES))
