from django.db import migrations, models


class Migration(migrations.Migration):
    """An Idempotency-Key's record names the client that first used it (core/idempotency.py), so that
    another client presenting the key is refused instead of handed the first answer. Records kept from
    before have none and replay as they did, until they are forgotten (IDEMPOTENCY_KEEP_HOURS)."""

    dependencies = [
        ("seatbooking", "0006_retention_cursor"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencyrecord",
            name="client_digest",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
    ]
