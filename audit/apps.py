from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit import checks, stores  # noqa: F401 (checks registers itself)
        from compliance_site import inventory

        inventory.register_all(stores.STORES)
