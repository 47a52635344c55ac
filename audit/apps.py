from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit import checks, stores  # noqa: F401 (checks registers itself)
        from compliance_site import inventory, staff_roles

        inventory.register_all(stores.STORES)
        # The admin shows the auditor nothing: the auditor starts from the exports page.
        staff_roles.landing("auditor", "audit:auditor")

        from django.db.models.signals import post_migrate

        from audit.db_roles import grant_after_migrate

        post_migrate.connect(grant_after_migrate, sender=self, dispatch_uid="audit-db-roles")
