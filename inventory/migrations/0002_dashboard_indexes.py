from django.db import migrations, models

from core.indexes import AddIndexWithoutBlocking


class Migration(migrations.Migration):
    """Indexes for the operators' dashboard (operations/): holds made and ended in a time range.
    Built concurrently on PostgreSQL: these tables take writes all the time."""

    atomic = False

    dependencies = [
        ("inventory", "0001_initial"),
    ]

    operations = [
        AddIndexWithoutBlocking(
            model_name="seathold",
            index=models.Index(fields=["created_at"], name="hold_created_at"),
        ),
        AddIndexWithoutBlocking(
            model_name="seathold",
            index=models.Index(fields=["ended_at"], name="hold_ended_at"),
        ),
    ]
