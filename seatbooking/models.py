from django.db import models


class Heartbeat(models.Model):
    """The last time a background process said it was alive (GET /health reads these)."""

    name = models.CharField(max_length=32, primary_key=True)  # "timers", "worker"
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%H:%M:%S}"
