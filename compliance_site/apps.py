from django.contrib.admin.apps import AdminConfig


class FaceledgerAdminConfig(AdminConfig):
    """The admin requires a verified TOTP device (django-otp's OTPAdminSite)."""

    default_site = "compliance_site.admin.FaceledgerAdminSite"
