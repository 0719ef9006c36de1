from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from core.metrics import REGISTRY
        from orders.metrics import DatabaseCollector

        REGISTRY.register(DatabaseCollector())
