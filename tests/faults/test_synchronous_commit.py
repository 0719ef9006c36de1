"""Commits that wait for a synchronous standby (docs/deployment.md) are never taken for a success before a
standby has them: not when our side's bound gives up on the wait, not when a cancel ends it. A PostgreSQL
of the test's own whose synchronous standby never answers (synchronous_standby_names names one that does not
exist): every commit waits for ever."""

import threading
import time

import psycopg
import pytest

from core.database import NoAnswer, NotReplicated, bound
from tests.faults.postgres_server import PostgresServer

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def no_standby(tmp_path):
    server = PostgresServer(tmp_path)
    server.start()
    admin = psycopg.connect(f"postgres://postgres@127.0.0.1:{server.port}/postgres", autocommit=True)
    admin.execute("CREATE TABLE booking (id int)")
    admin.execute("ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
    admin.execute("SELECT pg_reload_conf()")
    yield server, admin
    admin.execute("ALTER SYSTEM RESET synchronous_standby_names")  # releases the waiting commits
    admin.execute("SELECT pg_reload_conf()")
    admin.close()
    server.remove()


def booking_to_commit(server: PostgresServer, *, bounded: bool = True) -> psycopg.Connection:
    """A transaction with a row written, connected as the service's processes connect (a statement timeout,
    which does not bound a commit's wait), on a bounded connection unless `bounded` is False."""
    url = f"postgres://postgres@127.0.0.1:{server.port}/postgres"
    conn = psycopg.connect(url, options="-c statement_timeout=1000")
    if bounded:
        bound(conn)
    conn.execute("INSERT INTO booking VALUES (1)")
    return conn


def visible(admin: psycopg.Connection) -> int:
    row = admin.execute("SELECT count(*) FROM booking").fetchone()
    assert row is not None
    return row[0]


def cancel_soon(admin: psycopg.Connection, conn: psycopg.Connection) -> threading.Thread:
    """An operator cancels the waiting commit (pg_cancel_backend) once it waits."""

    def cancel() -> None:
        time.sleep(1.5)  # past the statement timeout: that alone ends nothing
        admin.execute("SELECT pg_cancel_backend(%s)", [conn.info.backend_pid])

    thread = threading.Thread(target=cancel)
    thread.start()
    return thread


def test_a_commit_no_standby_has_is_never_acknowledged(no_standby, settings):
    server, admin = no_standby
    settings.DB_ANSWER_TIMEOUT_SECONDS = 2
    conn = booking_to_commit(server)
    started = time.monotonic()
    with pytest.raises(NoAnswer):
        conn.commit()
    assert time.monotonic() - started >= 2  # the statement timeout (1 s) did not end the wait
    assert visible(admin) == 0  # still waiting for the standby, seen by nobody


def test_a_commit_whose_wait_is_cancelled_raises(no_standby, settings):
    server, admin = no_standby
    settings.DB_ANSWER_TIMEOUT_SECONDS = 10
    conn = booking_to_commit(server)
    canceller = cancel_soon(admin, conn)
    with pytest.raises(NotReplicated):
        conn.commit()
    canceller.join()
    assert conn.execute("SELECT 1").fetchone() == (1,)  # the connection goes on serving


def test_control_a_plain_connection_takes_a_cancelled_wait_for_a_success(no_standby):
    """Without the bounded connection, the cancelled commit "succeeds": the row is seen by everyone, on the
    primary alone, and only a WARNING says so."""
    server, admin = no_standby
    conn = booking_to_commit(server, bounded=False)
    warnings: list[str] = []
    conn.add_notice_handler(lambda diagnostic: warnings.append(diagnostic.message_primary or ""))
    canceller = cancel_soon(admin, conn)
    conn.commit()  # no error
    canceller.join()
    assert visible(admin) == 1
    assert any("canceling wait for synchronous replication" in w for w in warnings), warnings
