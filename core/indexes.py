"""Index migrations that do not block writes while the index is built."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexWithoutBlocking(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL (a plain CREATE INDEX blocks every write to the table while it
    builds: holds, audit entries, payment attempts); a plain one elsewhere (SQLite has no other kind).
    The migration needs `atomic = False`, as PostgreSQL cannot build concurrently inside a transaction."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
