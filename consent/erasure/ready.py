"""Erasure's part of ``ConsentConfig.ready()``."""

from compliance_site import staff_roles


def ready() -> None:
    staff_roles.grant("support", "consent.view_erasurerequest")
