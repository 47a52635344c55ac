from django.apps import AppConfig


class SwapConfig(AppConfig):
    name = "swap"
    verbose_name = "Face swap"

    def ready(self) -> None:
        from compliance_site import inventory
        from swap import stores

        inventory.register_all(stores.STORES)
