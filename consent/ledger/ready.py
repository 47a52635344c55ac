"""The ledger's part of ``ConsentConfig.ready()``."""

from compliance_site import accountability, staff_roles
from compliance_site.admin import subject_summary_register


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
    subject_summary_register("consents", "Consents", _consent_lines)


def _consent_lines(subject) -> list[str]:
    from datetime import UTC

    from consent.ledger.selectors import consent_states_for

    lines = []
    for consent in consent_states_for(subject):
        line = f"{consent.purpose.code}: {consent.state}"
        if consent.version is not None and consent.updated_at is not None:
            when = consent.updated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
            line += f" (version {consent.version}, {when})"
        lines.append(line)
    return lines
