"""Ids that grow with traffic are 64-bit, third-party tables' included (PostgreSQL; SQLite's are already).

The service's own models use BigAutoField. django-eventstream's event and counter tables (an event per
change: at 76 events/s the 32-bit sequence runs out in under a year), django-q2's ORM queue (a row per
task) and the admin's log (a row per operator action) were made with 32-bit AutoField ids. Their column
and its sequence become bigint; the packages' models still say AutoField, which reads and writes bigint
values alike, so nothing else changes (Django's migration state is left as the packages declare it).

Each ALTER rewrites its table under an exclusive lock: run it when the event table has been trimmed
(EVENTS_KEEP_HOURS) and traffic is low. One table per operation, each in a transaction of its own (the
migration is not atomic), so a table is locked only while it is rewritten, not until the last one is done.
A run cut short is run again: a table already converted is not rewritten again (same type).
Reversing converts back to 32-bit, which fails once an id is past it.
"""

from django.db import migrations

# Tables whose `id` grows with traffic.
GROWING = ("django_eventstream_event", "django_eventstream_eventcounter", "django_q_ormq", "django_admin_log")
SEQUENCE_OF = "SELECT pg_get_serial_sequence(%s, 'id')"


def _convert(schema_editor, table: str, sql_type: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    alter_column = f"ALTER TABLE {schema_editor.quote_name(table)} ALTER COLUMN id TYPE {sql_type}"
    schema_editor.execute(alter_column)
    # An identity column's sequence follows the column; a serial one (older databases) does not.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SEQUENCE_OF, [table])
        (sequence,) = cursor.fetchone()
    if sequence:
        alter_sequence = f"ALTER SEQUENCE {sequence} AS {sql_type}"
        schema_editor.execute(alter_sequence)


def convert(table: str) -> migrations.RunPython:
    """The operation for one table: its column and sequence in one transaction of their own."""

    def to_bigint(apps, schema_editor):
        _convert(schema_editor, table, "bigint")

    def to_integer(apps, schema_editor):
        _convert(schema_editor, table, "integer")

    return migrations.RunPython(to_bigint, to_integer, atomic=True)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [
        ("seatbooking", "0004_undo_statement"),
        ("django_eventstream", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [convert(table) for table in GROWING]
