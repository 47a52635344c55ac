from django.apps import AppConfig


class SwapConfig(AppConfig):
    name = "swap"
    verbose_name = "Face swap"

    def ready(self) -> None:
        from django.core import checks

        from compliance_site import staff_roles
        from swap import report, signing_checks, stores

        stores.register()
        report.register()
        checks.register(signing_checks.check_c2pa, checks.Tags.security, deploy=True)
        signing_checks.require_c2pa_signing()
        # The DPO approves templates: records their licences and the depicted people's consents.
        staff_roles.grant(
            "dpo",
            "swap.view_swaptemplate",
            "swap.add_swaptemplate",
            "swap.view_templatelicence",
            "swap.add_templatelicence",
            "swap.view_depictedpersonconsent",
            "swap.add_depictedpersonconsent",
        )
