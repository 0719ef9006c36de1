from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """The operators' dashboard in the admin (README, "Operating it")."""

    name = "operations"
    verbose_name = "Operations"
