from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    # Fares. Another branch adds flights 0003; the merge makes this depend on it instead.
    dependencies = [
        ("flights", "0003_layout_orientation"),
    ]

    operations = [
        migrations.AddField(
            model_name="flight",
            name="currency",
            field=models.CharField(default="EUR", help_text="ISO 4217 code, e.g. EUR.", max_length=3),
        ),
        migrations.AddField(
            model_name="flight",
            name="base_fare",
            field=models.DecimalField(
                decimal_places=2, default=Decimal("100.00"), help_text="Price of a seat in no fare zone.", max_digits=7
            ),
        ),
        migrations.AddField(
            model_name="flight",
            name="fare_zones",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text='Cabin zones, e.g. [{"name": "Extra legroom", "rows": [1, 3], "price": "45.00"}]; '
                "whole rows, not overlapping.",
            ),
        ),
    ]
