from django.db import models


class Heartbeat(models.Model):
    """The last time a background process said it was alive (GET /health reads these)."""

    name = models.CharField(max_length=32, primary_key=True)  # "timers", "worker"
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%H:%M:%S}"


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an Idempotency-Key, replayed to its retries."""

    scope = models.CharField(max_length=200, help_text="Method and path the key was used on.")
    key = models.CharField(max_length=255)
    body_sha256 = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, help_text="Null while the first request runs.")
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="one_record_per_key")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
