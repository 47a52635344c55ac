from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit import stores
        from compliance_site import inventory

        inventory.register_all(stores.STORES)
