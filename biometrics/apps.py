from django.apps import AppConfig


class BiometricsConfig(AppConfig):
    name = "biometrics"
    verbose_name = "Biometrics"

    def ready(self) -> None:
        from django.conf import settings

        from biometrics import analysis, stores

        stores.register()
        # biometrics.analysis imports no Django: the face engines' settings are handed to it.
        analysis.configure({name: getattr(settings, name, None) for name in analysis.SETTING_NAMES})
