from django.db import migrations, models

from core.indexes import AddIndexWithoutBlocking


class Migration(migrations.Migration):
    """Indexes for the metrics snapshot (orders/metrics.py): attempts finished in a time range, and the
    running ones, so that a refresh reads no more than the attempts of live work. Built concurrently on
    PostgreSQL: the table takes writes all the time."""

    atomic = False

    dependencies = [
        ("orders", "0008_commerce_review"),
    ]

    operations = [
        AddIndexWithoutBlocking(
            model_name="paymentattempt",
            index=models.Index(fields=["finished_at"], name="attempt_finished_at"),
        ),
        AddIndexWithoutBlocking(
            model_name="paymentattempt",
            index=models.Index(fields=["started_at"], condition=models.Q(outcome="running"), name="attempt_running"),
        ),
    ]
