from django.db import models


class Heartbeat(models.Model):
    """The last time a background process said it was alive (GET /health reads these)."""

    name = models.CharField(max_length=32, primary_key=True)  # "timers", "worker"
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%H:%M:%S}"


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an Idempotency-Key, replayed to its retries.

    Written in the request's own transaction, so it exists only once the change it answers has committed
    (core/idempotency.py). It holds no secret: the key only as an HMAC digest, the answer without
    the bearer token (derived again from the key on replay).
    """

    scope = models.CharField(max_length=200, help_text="Method and path the key was used on.")
    key_digest = models.CharField(max_length=64, help_text="HMAC-SHA256 of the key (keyed by SECRET_KEY), hex.")
    body_sha256 = models.CharField(max_length=64)
    # Who first used the key: a keyed digest of the client's address, session and credentials. Another client
    # presenting the key is refused, not handed the answer (blank: a record from before; replayed to anyone).
    client_digest = models.CharField(max_length=64, blank=True, default="")
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField(null=True, help_text="The answer's body, without derived secrets.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key_digest"], name="one_record_per_key")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key_digest[:12]}"


class RetentionCursor(models.Model):
    """How far a retention walk over a time column has got (core/retention.py): rows before `position` were
    looked at and either pruned or kept, so each pass reads only what ended since, not the whole history."""

    name = models.CharField(max_length=64, primary_key=True)  # "holds", "order channels"
    position = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} up to {self.position:%Y-%m-%d %H:%M}"
