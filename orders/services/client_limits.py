"""What one client may hold: live held seats per flight (CLIENT_HOLD_LIMIT_SEATS) and open orders
(CLIENT_OPEN_ORDERS_LIMIT). A client is its address and, separately, its browser session (orders/clients.py,
recorded on each order it creates); a limit is reached when either identity reaches it. Staff's orders
have no identity and count for no one. docs/security.md#holding-seats-what-one-client-may-hold.

Exact under concurrency: a seat change counts under its client's advisory locks on the flight, taken with
the order's lock (orders/client_limits_sql.py; on SQLite writers take turns anyway), and on PostgreSQL's
one-statement path the count is a part of the statement (`held_seats_in`): a change over the limit is
refused after it, and its transaction undoes the writes. A create counts under its client's locks too.
"""

import datetime as dt
import math
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min, Q

from core.errors import ServiceError
from core.statement import OneStatement, bound_cursor
from orders.client_limits_sql import IDENTITIES, held_seats_select_sql, held_seats_sql, orders_locks_sql
from orders.clients import ClientKeys
from orders.models import CLIENT_COUNTED_STATES, Order, OrderState

# How soon a client refused for its held seats may try again when every hold it has is paying (no deadline):
# about one payment's attempts.
PAYING_RETRY_SECONDS = 30


class ClientHoldLimit(ServiceError):
    status = 429
    code = "client_hold_limit"


class ClientOrderLimit(ServiceError):
    status = 429
    code = "client_order_limit"


def _digests(order: Order) -> dict[str, str]:
    return {"client_address": order.client_address, "client_session": order.client_session}


def _counted(order: Order, wanted: int) -> bool:
    return bool(wanted and settings.CLIENT_HOLD_LIMIT_SEATS and order.client_address)


def check_held_seats(order: Order, *, wanted: int, now: dt.datetime) -> None:
    """The ORM path (SQLite's): refuse `wanted` seats for the locked order if its client would then hold
    more than the limit on the flight. One statement, only for a selection of some seats by a client."""
    if not _counted(order, wanted):
        return
    identities, params = _held_seats_params(order, now)
    with bound_cursor() as cursor:
        cursor.execute(held_seats_select_sql(identities), params)
        row = cursor.fetchone()
    _refuse_if_over(order, held=row, wanted=wanted, now=now)


def held_seats_in(statement: OneStatement, order: Order, *, wanted: int, now: dt.datetime) -> Callable[[tuple], None]:
    """PostgreSQL's one statement: add the client's held seats as outputs; returns the check of the
    statement's row, which raises (its transaction then undoes the statement) if over the limit."""
    if not _counted(order, wanted):
        return lambda row: None
    identities, params = _held_seats_params(order, now)
    at = [
        statement.output(held_seats_sql(identity), *params[i * 4 : i * 4 + 4]) for i, identity in enumerate(identities)
    ]
    return lambda row: _refuse_if_over(order, held=[row[i] for i in at], wanted=wanted, now=now)


def _held_seats_params(order: Order, now: dt.datetime) -> tuple[list[str], list]:
    """The identities the order's client has, and the parameters of `held_seats_sql` for each, in order."""
    at = connection.ops.adapt_datetimefield_value(now)
    identities = [i for i in IDENTITIES if _digests(order)[i]]
    params = [p for i in identities for p in (_digests(order)[i], order.flight_id, order.pk, at)]
    return identities, params


def _refuse_if_over(order: Order, *, held, wanted: int, now: dt.datetime) -> None:
    limit = settings.CLIENT_HOLD_LIMIT_SEATS
    most = max(held)
    if most + wanted <= limit:
        return
    wait = _holds_wait(order, now)
    error = ClientHoldLimit(
        f"One client may hold at most {limit} seats on flight {order.flight.code} at a time: you hold {most} on "
        f"other orders and asked for {wanted} more. Pay for or cancel one of your other orders, ask for "
        f"fewer seats, or try again in {wait} s, when one of your holds ends.",
        limit=limit,
        held=most,
        requested=wanted,
        retry_after=wait,
    )
    error.retry_after = wait
    raise error


def _holds_wait(order: Order, now: dt.datetime) -> int:
    """Seconds until the earliest hold of the client's other orders on the flight ends."""
    soonest = (
        _client_orders(_digests(order))
        .filter(flight_id=order.flight_id, state=OrderState.SEATS_SELECTED, hold_expires_at__gt=now)
        .exclude(pk=order.pk)
        .aggregate(at=Min("hold_expires_at"))["at"]
    )
    return _seconds_until(soonest, now) if soonest else PAYING_RETRY_SECONDS


def _client_orders(digests: dict[str, str]):
    match = Q()
    for identity in IDENTITIES:
        if digests.get(identity):
            match |= Q(**{identity: digests[identity]})
    return Order.objects.filter(match, state__in=CLIENT_COUNTED_STATES)


def _seconds_until(at: dt.datetime, now: dt.datetime) -> int:
    return max(1, math.ceil((at - now).total_seconds()))


def open_orders(digests: dict[str, str], now: dt.datetime):
    """The client's orders that are not over: paying, holding seats before their deadline, or pending and
    touched within the hold time (an order left empty stops counting after it, as a hold would end)."""
    idle_since = now - dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS)
    return _client_orders(digests).filter(
        Q(state=OrderState.PROCESSING_PAYMENT)
        | Q(state=OrderState.SEATS_SELECTED, hold_expires_at__gt=now)
        | Q(state=OrderState.PENDING, updated_at__gt=idle_since)
    )


def check_open_orders(client: ClientKeys | None, *, now: dt.datetime) -> None:
    """In the create's transaction: refuse another order to a client with CLIENT_OPEN_ORDERS_LIMIT open.
    On PostgreSQL the client's creates take turns first (advisory locks), so each counts the one before."""
    limit = settings.CLIENT_OPEN_ORDERS_LIMIT
    if client is None or not limit:
        return
    digests = {"client_address": client.address, "client_session": client.session}
    if connection.vendor == "postgresql":
        sql, params = orders_locks_sql(digests)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    mine = open_orders(digests, now)
    counts = mine.aggregate(
        **{identity: Count("pk", filter=Q(**{identity: digest})) for identity, digest in digests.items() if digest}
    )
    most = max(counts.values())
    if most < limit:
        return
    wait = _orders_wait(mine, now)
    error = ClientOrderLimit(
        f"One client may have at most {limit} orders open at a time (pending, holding seats or paying); you "
        f"have {most}. Pay for or cancel one of them, or try again in {wait} s, when one of them ends.",
        limit=limit,
        open=most,
        retry_after=wait,
    )
    error.retry_after = wait
    raise error


def _orders_wait(mine, now: dt.datetime) -> int:
    """Seconds until the first of the client's open orders stops counting (a paying one: a payment's time)."""
    ends = mine.aggregate(
        hold=Min("hold_expires_at", filter=Q(state=OrderState.SEATS_SELECTED)),
        idle=Min("updated_at", filter=Q(state=OrderState.PENDING)),
    )
    candidates = [ends["hold"]] if ends["hold"] else []
    if ends["idle"]:
        candidates.append(ends["idle"] + dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS))
    return _seconds_until(min(candidates), now) if candidates else PAYING_RETRY_SECONDS
