import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """SeatHold, taken over from the orders app with its table (orders_seathold) as it is: nothing in the
    database changes. The holder becomes a plain order id in the model; the table keeps its foreign key."""

    initial = True

    dependencies = [
        ("flights", "0002_seat_letters_a_to_z"),
        ("orders", "0005_seathold_moves_to_inventory"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SeatHold",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("order_id", models.CharField(db_index=True, max_length=64)),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("HELD", "Held"),
                                    ("CONFIRMED", "Confirmed"),
                                    ("RELEASED", "Released"),
                                    ("EXPIRED", "Expired"),
                                ],
                                default="HELD",
                                max_length=10,
                            ),
                        ),
                        ("expires_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("ended_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "seat",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT, related_name="holds", to="flights.seat"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "orders_seathold",
                        "ordering": ["seat_id"],
                        "indexes": [models.Index(fields=["order_id", "state"], name="hold_order_state")],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("state__in", ("HELD", "CONFIRMED"))),
                                fields=("seat",),
                                name="one_live_hold_per_seat",
                            )
                        ],
                    },
                ),
            ]
        ),
    ]
