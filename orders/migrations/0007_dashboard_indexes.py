from django.db import migrations, models

from core.indexes import AddIndexWithoutBlocking


class Migration(migrations.Migration):
    """Indexes for the operators' dashboard (operations/): the last hour's payment attempts and expiries.
    Built concurrently on PostgreSQL: these tables take writes all the time."""

    atomic = False

    dependencies = [
        ("orders", "0006_commerce"),
    ]

    operations = [
        AddIndexWithoutBlocking(
            model_name="paymentattempt",
            index=models.Index(fields=["started_at"], name="attempt_started_at"),
        ),
        AddIndexWithoutBlocking(
            model_name="auditentry",
            index=models.Index(fields=["action", "created_at"], name="audit_action_created"),
        ),
    ]
