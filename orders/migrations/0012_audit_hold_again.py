from django.db import migrations, models


class Migration(migrations.Migration):
    """An audit entry for an ended order whose seats a new order held again (orders/services/recovery.py):
    only the choices change, no column."""

    dependencies = [
        ("orders", "0011_client_keys"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("create", "Create"),
                    ("select_seats", "Select Seats"),
                    ("cancel", "Cancel"),
                    ("expire", "Expire"),
                    ("submit_payment", "Submit Payment"),
                    ("payment_attempt", "Payment Attempt"),
                    ("confirm", "Confirm"),
                    ("fail", "Fail"),
                    ("retry_payment", "Retry Payment"),
                    ("passengers", "Passengers"),
                    ("confirmation_sent", "Confirmation Sent"),
                    ("confirmation_failed", "Confirmation Failed"),
                    ("revoke_links", "Revoke Links"),
                    ("hold_again", "Hold Again"),
                ],
                max_length=32,
            ),
        ),
    ]
