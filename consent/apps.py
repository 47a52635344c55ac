from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_noop


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Data subjects and consent"

    def ready(self) -> None:
        from compliance_site import inventory
        from consent import inventory_stores
        from consent.ledger.selectors import ledger_export, ledger_locate
        from consent.ledger.services import ledger_erase

        inventory.register(
            inventory.Store(
                name="consent.ledger",
                # Marked for translation: the retention page shows them in the reader's language.
                what=gettext_noop(
                    "Consent records (purpose, policy version, time, method, SHA-256 of the "
                    "text shown and of the user agent, network of the address), their signed "
                    "receipts, and the day an age under 14 was declared"
                ),
                why=gettext_noop(
                    "Proof of which consent was given or withdrawn, when and to which text"
                ),
                retention=gettext_noop("As long as the account exists; erased with it"),
                legal_basis=gettext_noop(
                    "Legal obligation to demonstrate consent (GDPR Art. 7(1))"
                ),
                locate=ledger_locate,
                export=ledger_export,
                erase=ledger_erase,
                # Before the account row and the pseudonym mapping (erased last).
                order=850,
            )
        )
        inventory_stores.register()
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
