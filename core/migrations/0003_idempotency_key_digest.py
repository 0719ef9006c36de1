"""Idempotency records hold no secret, and a claim no longer outlives its request.

Rows written before this change are cleared of what they must not keep:
- claims still without an answer (a request that died left them answering 409 for 24 hours): deleted;
- answers to POST /orders (they hold the order's bearer token in plain text): deleted; a retry of such a
  request with its old key now creates a new order instead of replaying;
- the rest keep their answer, with the key replaced by its digest, so their retries still replay.
"""

from django.db import migrations, models
from django.utils.crypto import salted_hmac

KEY_SALT = "seatbooking.idempotency.key"  # as in core/idempotency.py


def clear_secrets(apps, schema_editor):
    Record = apps.get_model("seatbooking", "IdempotencyRecord")
    Record.objects.filter(status_code__isnull=True).delete()
    Record.objects.filter(scope="POST /orders").delete()
    for record in Record.objects.all().iterator():
        record.key = salted_hmac(KEY_SALT, f"{record.scope}\0{record.key}", algorithm="sha256").hexdigest()
        record.save(update_fields=["key"])


class Migration(migrations.Migration):
    dependencies = [
        ("seatbooking", "0002_idempotencyrecord"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="idempotencyrecord", name="one_record_per_key"),
        migrations.RunPython(clear_secrets, migrations.RunPython.noop),
        migrations.RenameField(model_name="idempotencyrecord", old_name="key", new_name="key_digest"),
        migrations.AlterField(
            model_name="idempotencyrecord",
            name="key_digest",
            field=models.CharField(help_text="HMAC-SHA256 of the key (keyed by SECRET_KEY), hex.", max_length=64),
        ),
        migrations.AlterField(
            model_name="idempotencyrecord",
            name="status_code",
            field=models.PositiveSmallIntegerField(),
        ),
        migrations.AlterField(
            model_name="idempotencyrecord",
            name="response",
            field=models.JSONField(help_text="The answer's body, without derived secrets.", null=True),
        ),
        migrations.AddConstraint(
            model_name="idempotencyrecord",
            constraint=models.UniqueConstraint(fields=("scope", "key_digest"), name="one_record_per_key"),
        ),
    ]
