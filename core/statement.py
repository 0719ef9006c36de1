"""A change's writes across modules as one PostgreSQL statement: one round trip instead of one per write.

Each module adds its part as a named common table expression (`part`), and asks for what it needs back
(`output`). PostgreSQL runs every data-modifying part exactly once and to completion, all on the
statement's one snapshot; a part sees another's rows only through that part's RETURNING, which is also
how parts are ordered when one must run after another (referencing a part runs it first).

Used for the hot path only (a seat change, orders/services/seats.py); elsewhere the ORM's statements are
fewer and the clarity is worth more.

Run outside a transaction (autocommit), a statement is its own transaction: all of it commits, or, if it
fails, none of it. `undo_if` uses that: a condition on what the parts did that makes the statement fail
(`Undone`) and so leaves nothing written, without the BEGIN and COMMIT round trips.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.utils import CursorWrapper

from core.locking import busy_on_lock_timeout

# The SQLSTATE of `undo_statement()`, the PostgreSQL function that fails the statement on purpose (created
# by core/migrations/0004_undo_statement.py).
UNDONE_SQLSTATE = "SB001"


class Undone(Exception):
    """An `undo_if` condition held: the statement failed, and nothing it wrote remains."""


class OneStatement:
    def __init__(self) -> None:
        self._parts: list[str] = []
        self._params: list[Any] = []
        self._outputs: list[str] = []
        self._output_params: list[Any] = []
        self._undo_conditions: list[str] = []

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

    def undo_if(self, condition: str) -> None:
        """Fail the statement (`Undone`) if `condition`, a boolean SQL expression over the parts, holds.
        Only outside a transaction does that undo the statement's writes, and only them."""
        self._undo_conditions.append(condition)

    def execute(self) -> tuple[Any, ...]:
        """Run it; a lock or a conflicting transaction not given up within the lock timeout is `Busy`."""
        outputs = self._outputs
        if self._undo_conditions:
            assert connections[DEFAULT_DB_ALIAS].get_autocommit(), "undo_if undoes a statement outside a transaction"
            # CASE evaluates the function only when a condition holds (it is volatile: never folded early).
            outputs = [*outputs, f"CASE WHEN {' OR '.join(self._undo_conditions)} THEN undo_statement() END"]
        sql = "WITH " + ",\n".join(self._parts) + "\nSELECT " + ", ".join(outputs)
        try:
            with busy_on_lock_timeout(), bound_cursor() as cursor:
                cursor.execute(sql, [*self._params, *self._output_params])
                row = cursor.fetchone()
        except DatabaseError as exc:
            if getattr(exc.__cause__, "sqlstate", None) == UNDONE_SQLSTATE:
                raise Undone from None
            raise
        assert row is not None  # a SELECT of scalar expressions returns exactly one row
        return tuple(row)


def only_if(part: str | None) -> str:
    """What to add to a part's WHERE so that it does nothing unless `part` yielded a row ("" for None)."""
    return f" AND EXISTS (SELECT 1 FROM {part})" if part else ""  # noqa: S608 - a part's name


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
    import psycopg

    database.ensure_connection()
    database.validate_thread_sharing()
    with database.wrap_database_errors:
        raw: Any = psycopg.Cursor(database.connection)  # (the stubs say a CursorWrapper is wrapped)
    cursor = database.make_debug_cursor(raw) if database.queries_logged else database.make_cursor(raw)
    with cursor:
        yield cursor
