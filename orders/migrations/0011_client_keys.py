from django.db import migrations, models

from core.indexes import AddIndexWithoutBlocking

COUNTED = models.Q(("state__in", ("PENDING", "SEATS_SELECTED", "PROCESSING_PAYMENT")))


class Migration(migrations.Migration):
    """The client that created an order (keyed digests of its address and browser session), and indexes on
    them for the limits on what one client may hold (orders/services/client_limits.py). Orders made before
    have neither and count for no one. The columns' default is a constant (no table rewrite on PostgreSQL);
    the indexes are built concurrently there: the table takes writes all the time."""

    atomic = False

    dependencies = [
        ("flights", "0005_flight_code_pattern"),
        ("orders", "0010_attempt_metrics_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="client_address",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        migrations.AddField(
            model_name="order",
            name="client_session",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        AddIndexWithoutBlocking(
            model_name="order",
            index=models.Index(condition=COUNTED, fields=["client_address", "flight"], name="order_client_address"),
        ),
        AddIndexWithoutBlocking(
            model_name="order",
            index=models.Index(condition=COUNTED, fields=["client_session", "flight"], name="order_client_session"),
        ),
    ]
