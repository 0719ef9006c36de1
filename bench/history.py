"""The benchmark database's past: what a service that has sold seats for a while has in its tables.

Run by bench.common.prepare_database, on the benchmark database, before any benchmark. Without it every
benchmark started on empty tables, and PostgreSQL planned the hot path's prepared statements for tables
of a few rows: sequential scans, kept for the connection's life while the tables grew by thousands of
rows a second (measured: 35 million hold rows read by sequential scans in one 16-second run of
bench/holds.py, and PostgreSQL's share of a seat change 1.2 -> 3 ms from one run to the next). A
running service has big tables and statistics that PostgreSQL keeps up to date (autoanalyze), so its
plans use the indexes; a fresh deployment has the empty-table plans only until its first autoanalyze
(docs/performance.md).

The past, made in bulk SQL (INSERT ... SELECT generate_series: about a million rows in seconds, ten
million in minutes), all of it ended before the last two hours: BENCH_HISTORY_ROWS rows in all (default
260,000), as orders of past flights of their own, ORDER_ROWS rows per order: the order (half expired,
a fifth cancelled, a fifth confirmed, a tenth failed), two ended holds (a confirmed order's second one
booked: one booking per seat of its flight), its audit entries (created, seats selected, ended; a paid
order's submit, and a confirmed one's email sent), its payment attempts (one success, or three
declines), four events of its channel (the placeholder at 0 included, within the last day as events are
kept) and the channel's counter. Orders come every 0.12 s, as in a day of the soak (716k orders a day),
so ten million rows are about a day. Then VACUUM ANALYZE. PostgreSQL only.

    python -m bench.history    (on DATABASE_URL, migrated and seeded; BENCH_HISTORY_ROWS=10000000)
"""

import os
import time

import django
from django.apps import apps

if not apps.ready:  # run as a program (imported by a test, Django is set up already)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seatbooking.settings")
    os.environ.setdefault("DB_STATEMENT_TIMEOUT_SECONDS", "0")  # a bulk load: long statements are its point
    django.setup()

from django.db import connection, transaction

from orders.events import STATUS_EVENT

ORDER_ROWS = 13  # rows per past order, on average, over the tables above (measured: `fill` reports them)
ROWS = int(os.environ.get("BENCH_HISTORY_ROWS", 20_000 * ORDER_ROWS))
ORDERS_PER_FLIGHT = 900  # a fifth confirmed: 180 bookings, one per seat of a 30 x ABCDEF flight
SPACING_SECONDS = 0.12
BATCH_ORDERS = 100_000  # per INSERT ... SELECT, so that no one statement holds too much

FLIGHTS = """
INSERT INTO flights_flight (code, origin, destination, departs_at, rows, letters, aisles_after, exit_rows,
    wing_rows, currency, base_fare, fare_zones)
SELECT 'H-' || f, 'PAST', 'SALES', %(start)s + (f + 1) * %(flight_span)s * interval '1 second', 30, 'ABCDEF',
    'C', '', '', 'EUR', 89.00, '[]'
FROM generate_series(0, %(flights)s - 1) AS f;

INSERT INTO flights_seat (flight_id, label, "row", letter)
SELECT fl.id, r || l.letter, r, l.letter
FROM flights_flight fl, generate_series(1, 30) AS r, unnest(ARRAY['A','B','C','D','E','F']) AS l(letter)
WHERE fl.code LIKE 'H-%%';

CREATE TEMP TABLE history_seat AS
SELECT substr(fl.code, 3)::int AS f, (s."row" - 1) * 6 + ascii(s.letter) - 65 AS i, s.id AS seat_id, fl.id AS flight_id
FROM flights_seat s JOIN flights_flight fl ON fl.id = s.flight_id WHERE fl.code LIKE 'H-%%';
CREATE UNIQUE INDEX ON history_seat (f, i);
"""

# One batch of orders [first, last): n is the order's number, j its number on its flight, k its kind
# (0-4 expired, 5-6 cancelled, 7-8 confirmed, 9 failed).
ORDERS = """
CREATE TEMP TABLE batch AS
SELECT n, n / %(per_flight)s AS f, n %% %(per_flight)s AS j, n %% 10 AS k,
    %(start)s + n * %(spacing)s * interval '1 second' AS at
FROM generate_series(%(first)s, %(last)s - 1) AS n;

INSERT INTO orders_order (id, flight_id, token_hash, state, hold_expires_at, first_held_at, payment_code,
    payment_attempts_used, payment_status, last_payment_error, amount, currency, seat_prices, reference,
    contact_email, passengers, confirmation_sent_at, confirmation_attempts, booking_link_version, created_at,
    updated_at, client_address, client_session)
SELECT 'history-' || b.n, hs.flight_id, '',
    CASE WHEN k < 5 THEN 'EXPIRED' WHEN k < 7 THEN 'CANCELLED' WHEN k < 9 THEN 'CONFIRMED' ELSE 'FAILED' END,
    CASE WHEN k < 5 THEN at + interval '15 minutes' END, at, '',
    CASE WHEN k >= 7 THEN (CASE WHEN k = 9 THEN 3 ELSE 1 END) ELSE 0 END,
    CASE WHEN k = 9 THEN 'failed' WHEN k >= 7 THEN 'success' ELSE '' END,
    CASE WHEN k = 9 THEN 'card declined' ELSE '' END,
    CASE WHEN k >= 7 THEN 89.00 END, 'EUR', '{}', NULL, '', '[]',
    CASE WHEN k BETWEEN 7 AND 8 THEN at + interval '2 minutes' END, 0, 0, at, at + interval '15 minutes', '', ''
FROM batch b JOIN history_seat hs ON hs.f = b.f AND hs.i = 0;

INSERT INTO orders_seathold (order_id, seat_id, state, expires_at, created_at, ended_at)
SELECT 'history-' || b.n, hs.seat_id,
    CASE WHEN h = 0 THEN 'RELEASED' WHEN k < 5 THEN 'EXPIRED' WHEN k BETWEEN 7 AND 8 THEN 'CONFIRMED'
        ELSE 'RELEASED' END,
    at + interval '15 minutes', at + h * interval '10 seconds', at + interval '1 minute' + h * interval '10 minutes'
FROM batch b CROSS JOIN generate_series(0, 1) AS h
JOIN history_seat hs ON hs.f = b.f AND hs.i = CASE
    WHEN h = 1 AND k BETWEEN 7 AND 8 THEN (j / 10) * 2 + k - 7  -- its own seat: one booking per seat
    ELSE (j * 7 + h) %% 180 END;

INSERT INTO orders_auditentry (order_id, action, from_state, to_state, reason, actor, details, created_at)
SELECT 'history-' || b.n, a.action, a.from_state, a.to_state, 'past sale', a.actor, a.details::jsonb,
    at + a.step * interval '20 seconds'
FROM batch b CROSS JOIN LATERAL (VALUES
    (0, 'create', '', 'PENDING', 'token@192.0.2.1', '{}'),
    (1, 'select_seats', 'PENDING', 'SEATS_SELECTED', 'token@192.0.2.1', '{}'),
    (2, 'select_seats', 'SEATS_SELECTED', 'SEATS_SELECTED', 'token@192.0.2.1', '{}'),
    (3, CASE WHEN k < 5 THEN 'expire' WHEN k < 7 THEN 'cancel' ELSE 'submit_payment' END,
        'SEATS_SELECTED',
        CASE WHEN k < 5 THEN 'EXPIRED' WHEN k < 7 THEN 'CANCELLED' ELSE 'PROCESSING_PAYMENT' END,
        CASE WHEN k < 5 THEN 'system:timers' ELSE 'token@192.0.2.1' END,
        CASE WHEN k < 5 THEN '{"late_ms": ' || (b.n %% 300) || '}' ELSE '{}' END),
    (4, CASE WHEN k = 9 THEN 'fail' ELSE 'confirm' END, 'PROCESSING_PAYMENT',
        CASE WHEN k = 9 THEN 'FAILED' ELSE 'CONFIRMED' END, 'system:payments', '{}'),
    (5, 'confirmation_sent', 'CONFIRMED', 'CONFIRMED', 'system:email', '{"attempt": 1}')
) AS a(step, action, from_state, to_state, actor, details)
WHERE a.step < 4 OR (a.step = 4 AND k >= 7) OR (a.step = 5 AND k BETWEEN 7 AND 8);

INSERT INTO orders_paymentattempt (order_id, number, outcome, error, started_at, finished_at)
SELECT 'history-' || b.n, m, CASE WHEN k = 9 THEN 'declined' ELSE 'success' END,
    CASE WHEN k = 9 THEN 'card declined' ELSE '' END,
    at + interval '61 seconds' + m * interval '3 seconds', at + interval '62 seconds' + m * interval '3 seconds'
FROM batch b CROSS JOIN generate_series(1, 3) AS m
WHERE k = 9 OR (k BETWEEN 7 AND 8 AND m = 1);

INSERT INTO django_eventstream_event (channel, type, data, eid, created)
SELECT 'order-history-' || b.n, CASE WHEN e = 0 THEN '' ELSE %(status_event)s END, '{}', e,
    now() - interval '2 hours' - (b.n %% 72000) * interval '1 second'
FROM batch b CROSS JOIN generate_series(0, 3) AS e;

INSERT INTO django_eventstream_eventcounter (name, value, updated)
SELECT 'order-history-' || b.n, 3, now() - interval '2 hours' FROM batch b;

DROP TABLE batch;
"""

TABLES = (
    "orders_order",
    "orders_seathold",
    "orders_auditentry",
    "orders_paymentattempt",
    "django_eventstream_event",
    "django_eventstream_eventcounter",
)


def orders_for(rows: int) -> int:
    return max(1, rows // ORDER_ROWS)


def fill(cursor, *, rows: int = ROWS) -> dict[str, int]:
    """Add about `rows` rows of past sales through `cursor` (a DB-API cursor on the migrated database);
    returns the rows added per table. Does not analyse: the caller does (VACUUM cannot run in a
    transaction, ANALYZE can)."""
    orders = orders_for(rows)
    flights = orders // ORDERS_PER_FLIGHT + 1
    span = orders * SPACING_SECONDS
    cursor.execute("SELECT now() - interval '2 hours' - %s * interval '1 second'", [span + 3600])
    (start,) = cursor.fetchone()
    before = _counts(cursor)
    # A bulk load's usual speed-ups: indexes built once at the end (a sort each) rather than row by row,
    # and the foreign keys' per-row checks off (every row refers to rows made just before it).
    cursor.execute("SHOW session_replication_role")
    (role,) = cursor.fetchone()
    cursor.execute("SET LOCAL session_replication_role = replica")
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    indexes = _drop_plain_indexes(cursor)
    cursor.execute(FLIGHTS, {"start": start, "flights": flights, "flight_span": ORDERS_PER_FLIGHT * SPACING_SECONDS})
    for first in range(0, orders, BATCH_ORDERS):
        cursor.execute(
            ORDERS,
            {
                "first": first,
                "last": min(first + BATCH_ORDERS, orders),
                "per_flight": ORDERS_PER_FLIGHT,
                "start": start,
                "spacing": SPACING_SECONDS,
                "status_event": STATUS_EVENT,
            },
        )
    cursor.execute("DROP TABLE history_seat")
    cursor.execute(f"SET LOCAL session_replication_role = {role}")
    for definition in indexes:
        cursor.execute(definition)
    after = _counts(cursor)
    return {table: after[table] - before[table] for table in TABLES}


def _drop_plain_indexes(cursor) -> list[str]:
    """Drop the indexes of TABLES that no constraint owns; returns the statements that make them again."""
    cursor.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
        [list(TABLES)],
    )
    found = cursor.fetchall()
    for name, _definition in found:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in found]


def _counts(cursor) -> dict[str, int]:
    counts = {}
    for table in TABLES:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (the names above)
        counts[table] = cursor.fetchone()[0]
    return counts


def main() -> None:
    began = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        added = fill(cursor, rows=ROWS)
    filled = time.monotonic() - began
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"history: {sum(added.values()):,} rows ({', '.join(f'{t} {n:,}' for t, n in added.items())}) "
        f"in {filled:.0f} s, VACUUM ANALYZE {time.monotonic() - began - filled:.0f} s"
    )


if __name__ == "__main__":
    main()
