from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Data subjects and consent"

    def ready(self) -> None:
        from compliance_site import inventory
        from consent import stores

        inventory.register_all(stores.STORES)
        _sub_domains_ready()
        post_migrate.connect(_staff_roles_sync, dispatch_uid="consent.staff_roles_sync")


def _sub_domains_ready() -> None:
    """Each sub-domain plugs what it provides into the layers below it (staff roles, the
    admin's staff events, report sections...)."""
    from consent.erasure.ready import ready as erasure_ready
    from consent.identity.ready import ready as identity_ready
    from consent.ledger.ready import ready as ledger_ready
    from consent.reports.ready import ready as reports_ready

    for ready in (identity_ready, ledger_ready, erasure_ready, reports_ready):
        ready()


def _staff_roles_sync(sender, using="default", **kwargs) -> None:
    """Every app's migrate may add permissions a role holds: the groups follow."""
    from consent.identity.services import staff_roles_sync

    if using == "default":
        staff_roles_sync()
