from django.apps import AppConfig


class SwapConfig(AppConfig):
    name = "swap"
    verbose_name = "Face swap"

    def ready(self) -> None:
        from biometrics import analysis
        from compliance_site import inventory
        from swap import checks, stores
        from swap.engines import engine_named
        from swap.services import face_engine

        inventory.register_all(stores.STORES)
        checks.register()
        # gunicorn and Celery run no system checks: an engine that is not in the table stops
        # every process at start-up, not at the first capture.
        checks.refuse_unknown_engine()
        # Biometrics embeds captures with the analyser of the engine in use; the engine table
        # is this app's, so the choice is plugged into the analysis package from here.
        analysis.choose_analyser(lambda: engine_named(face_engine()).analyser)
