from django.apps import AppConfig


class BiometricsConfig(AppConfig):
    name = "biometrics"
    verbose_name = "Biometrics"

    def ready(self) -> None:
        from biometrics import stores

        stores.register()
