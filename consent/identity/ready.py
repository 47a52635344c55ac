"""Identity's part of ``ConsentConfig.ready()``: what it plugs into the layer below."""

from django.core import checks

from compliance_site import admin, staff_roles


def ready() -> None:
    from consent.identity.checks import check_sign_in_limits

    checks.register(check_sign_in_limits, checks.Tags.security)
    from consent.identity.services import (
        staff_list_narrowed_record,
        staff_login_record,
        staff_logout_record,
        staff_view_record,
    )

    admin.staff_events_connect(
        login=staff_login_record,
        logout=staff_logout_record,
        viewed_subject=staff_view_record,
        narrowed_list=staff_list_narrowed_record,
    )
    # The subject list, numbers masked; support may reveal one number (audited).
    staff_roles.grant("support", "consent.view_user", "consent.reveal_phone_number")
    staff_roles.grant("dpo", "consent.view_user")
