"""The simulated gateway's ledger: what the "bank" did with each idempotency key, in a SQLite file of its own.

It stands for another system, so it lives outside the service's database (which fault tests restart and
which the service's transactions roll back): every process that charges shares the file, and each charge
is written in its own transaction at the moment the bank decides. A key is charged at most once: the first
decision recorded for it is the one every later call with that key gets back. Like a real gateway's keys
(Stripe keeps them 24 h), a key is forgotten after KEEP, a little at each decision, so the file stays
bounded by the traffic of that window.
"""

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS charges (
    idempotency_key TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    charged INTEGER NOT NULL,
    error TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS charges_order ON charges (order_id);
CREATE INDEX IF NOT EXISTS charges_decided_at ON charges (decided_at);
"""
# Long after any reconciliation needs the key (minutes), long enough for an operator to look a charge up.
KEEP = dt.timedelta(days=7)
# Decisions forgotten per new one: twice as many as are made, so a backlog is worked off.
FORGET_PER_DECISION = 2


@dataclass(frozen=True)
class LedgerEntry:
    idempotency_key: str
    order_id: str
    amount: Decimal
    currency: str
    charged: bool  # money taken; else declined
    error: str
    decided_at: str


class Ledger:
    """The ledger at `path` (created on first use). Safe to share between processes: SQLite's own locking,
    write-ahead log, a busy timeout instead of an error while another process writes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as conn:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                # Switching takes the file for itself and does not wait out a busy file: calls racing on a
                # new ledger may fail to. WAL persists in the file, so one of them switching is enough.
                with suppress(sqlite3.OperationalError):
                    conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            yield conn

    def decide(
        self, *, idempotency_key: str, order_id: str, amount: Decimal, currency: str, charged: bool, error: str
    ) -> LedgerEntry:
        """Record the decision for a key not seen before, in one transaction; return the key's decision,
        which is the first one recorded if another call with the same key got there first."""
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO charges (idempotency_key, order_id, amount, currency, charged, error, decided_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
                (idempotency_key, order_id, str(amount), currency, int(charged), error, _now()),
            )
            conn.execute(
                "DELETE FROM charges WHERE rowid IN "
                "(SELECT rowid FROM charges WHERE decided_at < ? ORDER BY decided_at LIMIT ?)",
                (_now(-KEEP), FORGET_PER_DECISION),
            )
            conn.execute("COMMIT")
            entry = self._find(conn, idempotency_key)
        assert entry is not None  # inserted above, or by the call that got there first
        return entry

    def find(self, idempotency_key: str) -> LedgerEntry | None:
        """The decision recorded for the key; None if the bank never saw it."""
        with self._connection() as conn:
            return self._find(conn, idempotency_key)

    def entries(self, order_id: str) -> list[LedgerEntry]:
        """Every decision for the order's keys, in the order they were made."""
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT idempotency_key, order_id, amount, currency, charged, error, decided_at FROM charges "
                "WHERE order_id = ? ORDER BY decided_at, rowid",
                (order_id,),
            ).fetchall()
        return [_entry(row) for row in rows]

    def charges(self, order_id: str) -> int:
        """How many times money was taken for the order (a correct service: at most once, and once more per
        seat change that cost more)."""
        return sum(entry.charged and entry.amount >= 0 for entry in self.entries(order_id))

    def refunds(self, order_id: str) -> list[Decimal]:
        """The amounts paid back to the order's payer (refunds are recorded as negative amounts)."""
        return [-entry.amount for entry in self.entries(order_id) if entry.charged and entry.amount < 0]

    @staticmethod
    def _find(conn: sqlite3.Connection, idempotency_key: str) -> LedgerEntry | None:
        row = conn.execute(
            "SELECT idempotency_key, order_id, amount, currency, charged, error, decided_at FROM charges "
            "WHERE idempotency_key = ?",
            (idempotency_key,),
        ).fetchone()
        return _entry(row) if row else None


def _entry(row: tuple) -> LedgerEntry:
    key, order_id, amount, currency, charged, error, decided_at = row
    return LedgerEntry(key, order_id, Decimal(amount), currency, bool(charged), error, decided_at)


def _now(shift: dt.timedelta = dt.timedelta(0)) -> str:
    return (dt.datetime.now(dt.UTC) + shift).isoformat(timespec="microseconds")
