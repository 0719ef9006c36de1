from django.db import migrations


class Migration(migrations.Migration):
    """SeatHold now belongs to the inventory app (inventory/migrations/0001_initial.py takes it over).
    Only Django's idea of the model moves: the table, its rows and its constraints stay as they are."""

    dependencies = [("orders", "0004_audit_actions_and_interrupted_outcome")]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="SeatHold")]),
    ]
