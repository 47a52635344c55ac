from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Data subjects and consent"

    def ready(self) -> None:
        from compliance_site import inventory
        from consent import stores

        inventory.register_all(stores.STORES)
        post_migrate.connect(_staff_roles_sync, dispatch_uid="consent.staff_roles_sync")


def _staff_roles_sync(sender, using="default", **kwargs) -> None:
    """Every app's migrate may add permissions a role holds: the groups follow."""
    from consent.services import staff_roles_sync

    if using == "default":
        staff_roles_sync()
