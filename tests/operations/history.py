"""A database with a past, for the tests of what history must not slow: bench/history.py's bulk SQL (about a
million rows in seconds), then ANALYZE, so that PostgreSQL plans with the statistics of big tables."""

import time

from django.db import connection

from bench import history

HISTORY_ROWS = 1_000_000


def load_history(rows: int = HISTORY_ROWS) -> dict[str, int]:
    """Add `rows` rows of past sales to the test database (PostgreSQL) and analyse it; returns the rows
    added per table."""
    began = time.monotonic()
    with connection.cursor() as cursor:
        added = history.fill(cursor, rows=rows)
        cursor.execute("ANALYZE")
    print(f"history: {sum(added.values()):,} rows in {time.monotonic() - began:.1f} s: {added}")
    return added
