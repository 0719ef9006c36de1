"""The SQL of the limits on what one client may hold (orders/services/client_limits.py): the seats a client
holds on a flight, and PostgreSQL's advisory locks that make one client's changes take turns.

A client is two identities (orders/clients.py): the digest of its address and of its browser session,
kept on each order it created. Each is counted, and locked, on its own.

Here rather than beside its service in orders/services/ (as seat_change_sql.py is): orders.selectors takes
the locks in its locking read, and orders.services imports orders.selectors, so the import contracts'
no-cycles rule keeps it below both.
"""

from typing import Any

from inventory.models import HoldState, SeatHold, live_sql
from orders.models import Order, OrderState

_ORDER, _HOLD = Order._meta.db_table, SeatHold._meta.db_table
IDENTITIES = ("client_address", "client_session")  # Order's columns, in the order they are locked

# Advisory lock key spaces (any int4 constants of ours; inventory/holds_sql.py uses 16_0001): the seats a
# client holds on one flight, by address and by session; the orders a client has open, likewise.
HOLDS_LOCK_SPACES = {"client_address": 16_0002, "client_session": 16_0003}
ORDERS_LOCK_SPACES = {"client_address": 16_0004, "client_session": 16_0005}


def held_seats_sql(identity: str) -> str:
    """A scalar subquery: how many seats the orders that `identity` (an Order column) names hold live on a
    flight, leaving out one order (the one changing its seats: its new selection replaces what it holds).
    Parameters: the identity's digest, the flight's id, the order's id, now. The holds counted are the live
    ones (inventory.models.live_sql) that are HELD: booked seats are bought, not held."""
    assert identity in IDENTITIES
    return f"""(SELECT count(*) FROM {_ORDER} AS co JOIN {_HOLD} AS ch ON ch.order_id = co.id
        WHERE co.{identity} = %s AND co.flight_id = %s AND co.id <> %s
        AND co.state IN ('{OrderState.SEATS_SELECTED}', '{OrderState.PROCESSING_PAYMENT}')
        AND ch.state = '{HoldState.HELD}' AND {live_sql("ch")})"""


def held_seats_select_sql(identities: list[str]) -> str:
    """A statement of its own (the ORM path's): `held_seats_sql` per identity, as one row."""
    return f"SELECT {', '.join(held_seats_sql(identity) for identity in identities)}"


def holds_locks_sql(alias: str) -> str:
    """Target-list expressions for the locking read of an order `alias` about to change its seats
    (orders.selectors.fetch_order): a transaction-scoped advisory lock per identity of its client on its
    flight, so that one client's seat changes on a flight take turns and each counts the seats the one
    before it committed. Always in the same order (address, then session), so two never wait in a cycle."""
    return ", ".join(
        f"CASE WHEN {alias}.{identity} <> '' THEN pg_advisory_xact_lock({space}, "
        f"hashtext({alias}.{identity} || ':' || {alias}.flight_id::text)) END"
        for identity, space in HOLDS_LOCK_SPACES.items()
    )


def orders_locks_sql(digests: dict[str, str]) -> tuple[str, list[Any]]:
    """A statement taking the advisory locks of a client's open orders, per identity it has (its digest
    given), in the same order as everywhere; PostgreSQL only."""
    calls, params = [], []
    for identity, space in ORDERS_LOCK_SPACES.items():
        if digests.get(identity):
            calls.append(f"pg_advisory_xact_lock({space}, hashtext(%s))")
            params.append(digests[identity])
    return f"SELECT {', '.join(calls)}", params
