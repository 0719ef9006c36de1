from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What the service runs on, whatever it sells: live events, idempotency, health, metrics, errors,
    client addresses, request limits, Redis degradation, the worker process."""

    name = "core"
    # The label this code had when it lived in seatbooking/: its tables (seatbooking_heartbeat,
    # seatbooking_idempotencyrecord) and its migration history keep their names.
    label = "seatbooking"
    verbose_name = "Service infrastructure"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import database

        database.install()  # every connection's waits for PostgreSQL are bounded (core/database.py)
