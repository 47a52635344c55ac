"""The ledger's part of ``ConsentConfig.ready()``."""

from compliance_site import staff_roles


def ready() -> None:
    # The DPO reads the ledger and publishes policies (``is_dpo``).
    staff_roles.grant(
        "dpo",
        "consent.view_purpose",
        "consent.view_policyversion",
        "consent.add_policyversion",
        "consent.view_impactassessment",
        "consent.add_impactassessment",
        "consent.view_consentrecord",
    )
