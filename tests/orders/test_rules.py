"""Each rule of an order has one definition, and its SQL forms agree with it: a lapsed hold
(`orders.models.lapsed_holds`, `Order.hold_lapsed`) and "may change seats" (OPEN_STATES and not lapsed,
`orders.selectors.may_change_seats_sql`), over every state and deadline."""

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.utils import timezone

from orders import services
from orders.models import OPEN_STATES, Order, OrderState, lapsed_holds
from orders.selectors import may_change_seats_sql

NOW = timezone.now()
DEADLINES = [None, NOW - dt.timedelta(seconds=1), NOW, NOW + dt.timedelta(seconds=1)]


@pytest.fixture
def orders(flight):
    made = []
    for n, (state, deadline) in enumerate(itertools.product(OrderState.values, DEADLINES)):
        order, _token = services.create_order(flight_code=flight.code, actor="test", order_id=f"rule-{n}")
        Order.objects.filter(pk=order.pk).update(state=state, hold_expires_at=deadline)
        made.append(Order.objects.get(pk=order.pk))
    return made


@pytest.mark.django_db
def test_a_lapsed_hold_is_the_same_in_python_and_in_the_database(orders):
    in_python = {order.pk for order in orders if order.hold_lapsed(NOW)}
    assert in_python == set(Order.objects.filter(lapsed_holds(NOW)).values_list("pk", flat=True))
    # what the rule says: held seats past (or at) their deadline, and nothing else
    assert {(o.state, o.hold_expires_at) for o in orders if o.pk in in_python} == {
        (OrderState.SEATS_SELECTED, DEADLINES[1]),
        (OrderState.SEATS_SELECTED, NOW),
    }


@pytest.mark.django_db
def test_may_change_seats_in_sql_is_open_and_not_lapsed(orders):
    sql, params = may_change_seats_sql("o", NOW)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT o.id FROM {Order._meta.db_table} o WHERE {sql}", params)
        in_sql = {order_id for (order_id,) in cursor.fetchall()}
    assert in_sql == {o.pk for o in orders if o.state in OPEN_STATES and not o.hold_lapsed(NOW)}
    assert len(in_sql) == len(DEADLINES) + 2  # PENDING whatever the deadline; SEATS_SELECTED until it
