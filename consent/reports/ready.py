"""The reports' part of ``ConsentConfig.ready()``."""

from compliance_site import staff_roles
from compliance_site.admin import subject_summary_register


def ready() -> None:
    staff_roles.grant("support", "consent.view_reportjob")
    subject_summary_register("reports", "Data reports", _report_lines)


def _report_lines(subject) -> list[str]:
    from datetime import UTC

    from consent.reports.models import ReportJob

    jobs = ReportJob.objects.filter(subject=subject).order_by("-requested_at")
    return [
        f"1 data report ({job.status}, asked {job.requested_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"
        for job in jobs
    ]
