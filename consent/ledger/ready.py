"""The ledger's part of ``ConsentConfig.ready()``."""

from compliance_site import accountability, staff_roles


def ready() -> None:
    from consent.ledger.selectors import assessments_record

    # The auditor bundle carries every assessment ever published (audit.exports).
    accountability.register(accountability.IMPACT_ASSESSMENTS, assessments_record)
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
