"""Statements per request on the hot paths, pinned: a change that adds one shows up here (docs/performance.md).

Counted on PostgreSQL (SQLite stores each event in two statements instead of one). BEGIN and COMMIT count.
Requests go through the web processes' WSGI application (tests/api/conftest.py): the hot calls' lean path.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import services

pytestmark = pytest.mark.postgres_only


def statements(call, method: str, path: str, body=None, token: str | None = None, **headers) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        answer = call(method.upper(), path, body, token=token, **headers)
    return answer.status, len(queries)


@pytest.fixture
def order_with_seats(flight):
    order, token = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=["1A", "1B"], actor="test")
    return order, token


@pytest.mark.django_db(transaction=True)  # as in production: no test transaction around the request
def test_a_seat_change_costs_5_statements_however_many_seats(call, order_with_seats):
    order, token = order_with_seats
    # the token check with the early taken-seat check; BEGIN, the order's lock, one statement (the holds
    # released, kept, taken over and new, the order row, the audit row, both events), COMMIT
    assert statements(call, "post", f"/orders/{order.pk}/seats", {"seats": ["1A", "2C"]}, token) == (200, 5)
    more = ["1A", "3A", "3B", "3C", "4A", "4B"]
    assert statements(call, "post", f"/orders/{order.pk}/seats", {"seats": more}, token) == (200, 5)
    # through DRF's view (a cookie sends a request there, as the pages' calls): the token check on its own
    assert statements(call, "post", f"/orders/{order.pk}/seats", {"seats": ["2A"]}, token, Cookie="a=1") == (200, 6)


@pytest.mark.django_db(transaction=True)
def test_with_the_orms_statements_a_seat_change_costs_more(call, order_with_seats, settings):
    """The portable path, which SQLite runs, on PostgreSQL: the comparison make bench measures."""
    settings.SEAT_CHANGE_ONE_STATEMENT = False
    order, token = order_with_seats
    # the early read, BEGIN, the order's lock, then a statement for each lock, read and write, COMMIT
    assert statements(call, "post", f"/orders/{order.pk}/seats", {"seats": ["1A", "2C"]}, token) == (200, 13)


def test_a_refused_seat_costs_1_statement(call, flight, order_with_seats):
    other, token = services.create_order(flight_code=flight.code, actor="test")
    assert statements(call, "post", f"/orders/{other.pk}/seats", {"seats": ["1A"]}, token) == (409, 1)
    assert statements(call, "post", f"/orders/{other.pk}/seats", {"seats": ["1A"]}, token, Cookie="a=1") == (409, 2)


def test_status_costs_2_statements_however_many_seats(call, flight, order_with_seats):
    order, token = order_with_seats
    # token check; the order, its flight and its seats
    assert statements(call, "get", f"/orders/{order.pk}/status", token=token) == (200, 2)
    assert statements(call, "get", f"/orders/{order.pk}/status", token=token, Cookie="a=1") == (200, 2)
    services.select_seats(order_id=order.pk, labels=["1A", "1B", "2A", "2B", "3A", "3B"], actor="test")
    assert statements(call, "get", f"/orders/{order.pk}/status", token=token) == (200, 2)


def test_the_seat_map_costs_one_statement_however_many_holds(call, flight, order_with_seats):
    status, few = statements(call, "get", f"/flights/{flight.code}")
    for row in range(2, 6):
        order, _ = services.create_order(flight_code=flight.code, actor="test")
        services.select_seats(order_id=order.pk, labels=[f"{row}{letter}" for letter in "ABC"], actor="test")
    assert (status, few) == statements(call, "get", f"/flights/{flight.code}") == (200, 1)
    assert statements(call, "get", f"/flights/{flight.code}/available-seats")[0] == 200


def test_a_best_request_costs_7_statements_however_many_seats(call, flight, order_with_seats):
    order, token = order_with_seats
    # token check, BEGIN, lock the order, the flight's choosers take turns (an advisory lock), the free
    # seats (read after both locks; no early check: the server chooses only free seats), one statement
    # for the writes, COMMIT
    assert statements(call, "post", f"/orders/{order.pk}/seats", {"best": 2}, token) == (200, 7)
    assert statements(call, "post", f"/orders/{order.pk}/seats", {"best": 9}, token) == (200, 7)
