"""A change's writes across modules as one PostgreSQL statement: one round trip instead of one per write.

Each module adds its part as a named common table expression (`part`), and asks for what it needs back
(`output`). PostgreSQL runs every data-modifying part exactly once and to completion, all on the
statement's one snapshot; a part sees another's rows only through that part's RETURNING, which is also
how parts are ordered when one must run after another (referencing a part runs it first).

Used for the hot path only (a seat change, orders/services/seats.py); elsewhere the ORM's statements are
fewer and the clarity is worth more.

It runs inside the change's transaction, after the change's locks: a part that fails fails the statement,
and the transaction undoes the rest.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorWrapper

from core.locking import busy_on_lock_timeout


class OneStatement:
    def __init__(self) -> None:
        self._parts: list[str] = []
        self._params: list[Any] = []
        self._outputs: list[str] = []
        self._output_params: list[Any] = []

    def part(self, name: str, sql: str, *params: Any) -> str:
        """Add `name AS (sql)`; `sql` takes `params` for its %s, in order. Returns the name."""
        self._parts.append(f"{name} AS ({sql})")
        self._params.extend(params)
        return name

    def output(self, sql: str, *params: Any) -> int:
        """A value the statement returns (a scalar expression, often over a part); its index in the row."""
        self._outputs.append(sql)
        self._output_params.extend(params)
        return len(self._outputs) - 1

    def execute(self) -> tuple[Any, ...]:
        """Run it; a lock or a conflicting transaction not given up within the lock timeout is `Busy`."""
        sql = "WITH " + ",\n".join(self._parts) + "\nSELECT " + ", ".join(self._outputs)
        with busy_on_lock_timeout(), bound_cursor() as cursor:
            cursor.execute(sql, [*self._params, *self._output_params])
            row = cursor.fetchone()
        assert row is not None  # a SELECT of scalar expressions returns exactly one row
        return tuple(row)


@contextmanager
def bound_cursor() -> Iterator[CursorWrapper]:
    """A cursor for the hot path's hand-written statements. On PostgreSQL it sends the parameters apart
    from the SQL (Django's own cursors quote them into it, in Python: measured, a tenth of a seat change's
    CPU), and psycopg prepares a statement once it has run a few times on a connection, so PostgreSQL
    stops planning it anew. Logged like Django's cursors (the tests count its statements)."""
    database = connections[DEFAULT_DB_ALIAS]  # once: each `connection.x` is a lookup in asgiref's Local
    if database.vendor != "postgresql":
        with database.cursor() as cursor:
            yield cursor
        return
    database.ensure_connection()
    database.validate_thread_sharing()
    with database.wrap_database_errors:
        raw: Any = psycopg.Cursor(database.connection)  # (the stubs say a CursorWrapper is wrapped)
    cursor = database.make_debug_cursor(raw) if database.queries_logged else database.make_cursor(raw)
    with cursor:
        yield cursor
