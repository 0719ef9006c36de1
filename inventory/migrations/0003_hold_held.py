from django.db import migrations, models

from core.indexes import AddIndexWithoutBlocking


class Migration(migrations.Migration):
    """The seats held now, for the metrics snapshot (orders/metrics.py), without reading every booking (the
    partial unique index of live holds has the confirmed ones too). Built concurrently on PostgreSQL."""

    atomic = False

    dependencies = [
        ("inventory", "0002_dashboard_indexes"),
    ]

    operations = [
        AddIndexWithoutBlocking(
            model_name="seathold",
            index=models.Index(fields=["expires_at"], condition=models.Q(state="HELD"), name="hold_held"),
        ),
    ]
