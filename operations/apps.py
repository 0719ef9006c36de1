from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """The operators' dashboard in the admin (docs/operations.md, Admin and dashboard)."""

    name = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        from core.web_process import run_in_each_web_process
        from operations.reporting import REPORTER

        run_in_each_web_process(REPORTER)
