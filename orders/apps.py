from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from core.metrics import register_collector
        from orders.metrics import DatabaseCollector

        register_collector(DatabaseCollector())
