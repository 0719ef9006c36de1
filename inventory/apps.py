from django.apps import AppConfig


class InventoryConfig(AppConfig):
    """The seats of each flight and who holds them: the one place that decides whether a seat is free."""

    name = "inventory"
    verbose_name = "Seat inventory"
    default_auto_field = "django.db.models.BigAutoField"
