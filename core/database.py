"""Bounded database calls: no process waits for PostgreSQL without end.

PostgreSQL bounds what it runs (`statement_timeout`, `lock_timeout`, set when a connection opens:
seatbooking/settings.py), and libpq bounds connecting (`connect_timeout`) and finds a peer that vanished
(TCP keepalives). None of them helps when the server itself stops answering (a stalled disk, a paused
VM, `kill -STOP`): its kernel still accepts and acknowledges, so a query in flight waits forever. So every
wait for an answer on a connection (statements, commit, rollback, the pool's checks) is also bounded on
our side, at DB_ANSWER_TIMEOUT_SECONDS (the statement timeout plus a margin, so that the server's own
timeout fires first whenever the server can). Past it the connection is closed and the caller gets
`NoAnswer`, an OperationalError: the request answers 503 `database_unavailable` with Retry-After, a
timer tick or task fails and is tried again.

With synchronous replication (docs/deployment.md) a commit waits until a standby has it. No statement
timeout ends that wait (PostgreSQL turns it off before committing); our side's bound does, by closing the
connection: the server goes on waiting, the change stays invisible until a standby has it, and the caller
gets `NoAnswer`, not an acknowledgement. A cancel (pg_cancel_backend, an operator's) would end the wait
and let the commit stand on the primary alone, reported as a success with only a WARNING: that warning
raises `NotReplicated` instead.
"""

import weakref
from functools import partial
from typing import Any

import psycopg
from django.conf import settings
from django.db import OperationalError as DjangoOperationalError
from django.db import connection
from django.db.backends.signals import connection_created
from psycopg import errors

# psycopg's own interval between checks for a Ctrl-C while it waits (psycopg.connection._WAIT_INTERVAL).
WAIT_INTERVAL_SECONDS = 0.1


class NoAnswer(psycopg.OperationalError):
    """PostgreSQL did not answer within DB_ANSWER_TIMEOUT_SECONDS; the connection has been closed."""


# PostgreSQL's WARNING when a cancel ended a commit's wait for a synchronous standby (syncrep.c).
SYNC_WAIT_CANCELLED = "canceling wait for synchronous replication"


class NotReplicated(psycopg.OperationalError):
    """A cancel ended a wait for the synchronous standby: the change stands on the primary alone."""


class BoundedConnection(psycopg.Connection):
    """A psycopg connection whose every wait for the server ends after DB_ANSWER_TIMEOUT_SECONDS, and which
    takes no unreplicated commit for a success (the module's docstring)."""

    sync_wait_cancelled = False

    def wait(self, gen: Any, interval: float = WAIT_INTERVAL_SECONDS, timeout: float | None = None) -> Any:
        self.sync_wait_cancelled = False  # a flag left by an exchange that ended in an error
        answer = self._bounded_wait(gen, interval, timeout)
        if self.sync_wait_cancelled:
            self.sync_wait_cancelled = False
            raise NotReplicated(
                "a cancel ended the wait for the synchronous standby: the change stands on the primary alone"
            )
        return answer

    def _bounded_wait(self, gen: Any, interval: float, timeout: float | None) -> Any:
        limit = settings.DB_ANSWER_TIMEOUT_SECONDS
        if timeout is not None or not limit:
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, limit)
        except errors._WaitTimeout:  # psycopg's own "no answer within timeout"; its name is private
            # Halfway through a message exchange the connection cannot be used again: close it (the pool
            # then discards it) so that nothing reads the late answer as the answer to another query.
            self.close()
            raise NoAnswer(
                f"PostgreSQL did not answer within {limit:g} s (DB_STATEMENT_TIMEOUT_SECONDS and a margin); "
                "the connection was closed"
            ) from None


def bound_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created: give the connection Django just made (or took from the pool) the bounded waits."""
    raw = connection.connection
    if type(raw) is psycopg.Connection:
        bound(raw)


def bound(raw: psycopg.Connection) -> None:
    """Make a plain psycopg connection a BoundedConnection (same layout, no slots added: only the methods
    change), once."""
    raw.__class__ = BoundedConnection
    raw.add_notice_handler(partial(_note_sync_wait_cancelled, weakref.ref(raw)))


def _note_sync_wait_cancelled(connection_ref: Any, diagnostic: Any) -> None:
    """A notice handler: flag a cancelled synchronous wait on its connection, for `wait` to raise once the
    exchange is over (raising here would leave the exchange half read)."""
    raw = connection_ref()
    if raw is not None and (diagnostic.message_primary or "").startswith(SYNC_WAIT_CANCELLED):
        raw.sync_wait_cancelled = True


def install() -> None:
    """Called once from CoreConfig.ready()."""
    connection_created.connect(bound_connection, dispatch_uid="core.database.bound_connection")


def no_answer(exc: BaseException) -> bool:
    """Whether a database error is our side's timeout (the server did not answer), not a broken connection."""
    return isinstance(exc, NoAnswer) or (
        isinstance(exc, DjangoOperationalError) and isinstance(exc.__cause__, NoAnswer)
    )


def drop_broken_connections() -> None:
    """After a database restart every idle connection in a web process's pool is closed at the server's
    end: check them all (one round trip each) rather than hand each out once more, to fail one request."""
    pool = getattr(connection, "pool", None)  # PostgreSQL's wrapper has one (None unless a web process)
    if pool is not None:
        pool.check()
