from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("seatbooking", "0005_bigint_ids"),
    ]

    operations = [
        migrations.CreateModel(
            name="RetentionCursor",
            fields=[
                ("name", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("position", models.DateTimeField()),
            ],
        ),
    ]
