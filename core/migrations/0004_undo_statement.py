"""undo_statement(): fails the statement that calls it, with SQLSTATE SB001. PostgreSQL only; plain SQL has
no way to raise an error on purpose.

No longer called: a seat change's one statement now runs inside its transaction, which undoes it. The
function stays while web processes of the release that called it may still be serving during a deploy
(dropping it would fail their every seat change); a later release's migration may drop it."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION undo_statement() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'statement undone on purpose (core/statement.py, undo_if)' USING ERRCODE = 'SB001';
END
$$
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS undo_statement()")


class Migration(migrations.Migration):
    dependencies = [
        ("seatbooking", "0003_idempotency_key_digest"),
    ]

    operations = [migrations.RunPython(create, drop)]
