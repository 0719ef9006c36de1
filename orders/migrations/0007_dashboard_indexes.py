from django.db import migrations, models


class Migration(migrations.Migration):
    """Indexes for the operators' dashboard (operations/): the last hour's payment attempts and expiries."""

    dependencies = [
        ("orders", "0006_commerce"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="paymentattempt",
            index=models.Index(fields=["started_at"], name="attempt_started_at"),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["action", "created_at"], name="audit_action_created"),
        ),
    ]
