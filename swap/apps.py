from django.apps import AppConfig


class SwapConfig(AppConfig):
    name = "swap"
    verbose_name = "Face swap"

    def ready(self) -> None:
        from django.core import checks as django_checks

        from biometrics import analysis
        from compliance_site import inventory, staff_roles
        from swap import checks, progress, report, signing_checks, stores
        from swap.engines import engine_named
        from swap.services import face_engine

        inventory.register_all(stores.STORES)
        inventory.register_all(stores.SERVICE_STORES)
        report.register()
        progress.register()  # its steps on the account page
        checks.register()
        django_checks.register(signing_checks.check_c2pa, django_checks.Tags.security, deploy=True)
        signing_checks.require_c2pa_signing()
        # gunicorn and Celery run no system checks: an engine that is not in the table stops
        # every process at start-up, not at the first capture.
        checks.refuse_unknown_engine()
        # Biometrics embeds captures with the analyser of the engine in use; the engine table
        # is this app's, so the choice is plugged into the analysis package from here.
        analysis.choose_analyser(lambda: engine_named(face_engine()).analyser)
        # The DPO approves templates: records their licences and the depicted people's consents.
        staff_roles.grant(
            "dpo",
            "swap.view_swaptemplate",
            "swap.add_swaptemplate",
            "swap.view_templatelicence",
            "swap.add_templatelicence",
            "swap.view_depictedpersonconsent",
            "swap.add_depictedpersonconsent",
            "swap.view_depictedwithdrawalrequest",
            "swap.add_depictedwithdrawalrequest",
        )
