"""The dashboard's indexes are built without blocking writes to their busy tables (review 17, defect 10)."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

pytestmark = pytest.mark.django_db(transaction=True)  # sqlmigrate of a non-atomic migration: no transaction around

MIGRATIONS = [("inventory", "0002_dashboard_indexes"), ("orders", "0007_dashboard_indexes")]


@pytest.mark.parametrize(("app", "name"), MIGRATIONS)
def test_dashboard_indexes_are_built_concurrently_on_postgresql_and_plainly_elsewhere(app, name):
    migration = MigrationLoader(connection).get_migration(app, name)
    assert migration.atomic is False  # PostgreSQL builds concurrently only outside a transaction
    out = io.StringIO()
    call_command("sqlmigrate", app, name, stdout=out)
    statements = [line for line in out.getvalue().splitlines() if line.startswith("CREATE")]
    assert len(statements) == 2, out.getvalue()
    concurrently = connection.vendor == "postgresql"
    assert all(("CREATE INDEX CONCURRENTLY" in s) == concurrently for s in statements), statements
