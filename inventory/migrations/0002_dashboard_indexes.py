from django.db import migrations, models


class Migration(migrations.Migration):
    """Indexes for the operators' dashboard (operations/): holds made and ended in a time range."""

    dependencies = [
        ("inventory", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="seathold",
            index=models.Index(fields=["created_at"], name="hold_created_at"),
        ),
        migrations.AddIndex(
            model_name="seathold",
            index=models.Index(fields=["ended_at"], name="hold_ended_at"),
        ),
    ]
