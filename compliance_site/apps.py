from django.contrib.admin.apps import AdminConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as TotpConfig


class FaceledgerAdminConfig(AdminConfig):
    """The admin requires a verified TOTP device (django-otp's OTPAdminSite)."""

    default_site = "compliance_site.admin.FaceledgerAdminSite"

    def ready(self) -> None:
        super().ready()
        # The project's own checks register on import; this is the project's app config.
        from compliance_site import deploy_checks  # noqa: F401


class StaffAuthenticatorConfig(TotpConfig):
    """django-otp's TOTP devices, named for the admin's readers (its default is the label,
    "Otp_Totp")."""

    verbose_name = "Staff authenticator apps"
