from django.apps import AppConfig


class SwapConfig(AppConfig):
    name = "swap"
    verbose_name = "Face swap"

    def ready(self) -> None:
        from swap import stores

        stores.register()
