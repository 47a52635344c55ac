from django.apps import AppConfig


class BiometricsConfig(AppConfig):
    name = "biometrics"
    verbose_name = "Biometrics"

    def ready(self) -> None:
        from django.conf import settings
        from django.core import checks

        from biometrics import analysis, progress, report, stores
        from compliance_site import inventory, keystore, staff_roles

        inventory.register_all(stores.STORES)
        inventory.register_subject_cipher(stores.SUBJECT_CIPHER)
        report.register()
        progress.register()  # its steps on the account page
        # Support sees that captures exist (never their images: the admin shows none).
        staff_roles.grant("support", "biometrics.view_capture")
        checks.register(keystore.check_key_store, checks.Tags.security)
        # biometrics.analysis imports no Django: the face engines' settings are handed to it.
        analysis.configure({name: getattr(settings, name, None) for name in analysis.SETTING_NAMES})
        from biometrics.checks import pad_model_check

        checks.register(pad_model_check)
