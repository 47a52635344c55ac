from django.apps import AppConfig


class SwapConfig(AppConfig):
    name = "swap"
    verbose_name = "Face swap"

    def ready(self) -> None:
        from compliance_site import staff_roles
        from swap import report, stores

        stores.register()
        report.register()
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
