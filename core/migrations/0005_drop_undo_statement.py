"""undo_statement() is no longer called: a seat change's one statement runs inside its transaction, which
undoes it, so the function that failed a statement on purpose is dropped (PostgreSQL only)."""

from django.db import migrations


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS undo_statement()")


class Migration(migrations.Migration):
    dependencies = [
        ("seatbooking", "0004_undo_statement"),
    ]

    operations = [migrations.RunPython(drop, migrations.RunPython.noop)]
