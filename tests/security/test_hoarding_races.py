"""The limits on what one client may hold under concurrency and on the real server: parallel seat changes of
one client never hold more than the limit (without the client's lock they do), the scripted hoarder against
the server as `make run` starts it, and what the limit costs the lean seat change."""

import json
import threading
import urllib.error
import urllib.request

import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from flights.services import create_flight
from orders.services import client_limits
from tests.conftest import bearer
from tests.http import free_port, wait_for_server
from tests.processes import Processes
from tests.security.hoarding import BUYER, HOARDER, HOLD_LIMIT, ORDERS_LIMIT, api_client, create, held_from, lean

pytestmark = pytest.mark.django_db


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_parallel_seat_changes_of_one_client_never_hold_more_than_the_limit(limits, big_flight):
    hoarder = api_client(HOARDER)
    orders = [create(hoarder, big_flight.code).json() for _ in range(ORDERS_LIMIT)]
    answers = parallel_best(orders)
    assert sorted(answers).count(200) == 2
    assert held_from(HOARDER) == HOLD_LIMIT


def parallel_best(orders: list[dict]) -> list[int]:
    """Every order asks for 9 seats of its own at once (explicit seats: best-seat choosers of a flight take
    turns anyway), each from its own thread (a connection each)."""
    start = threading.Barrier(len(orders))
    answers: list[int] = []

    def run(row: int, order: dict) -> None:
        seats = [f"{row}{letter}" for letter in "ABCDEF"] + [f"{row + 10}{letter}" for letter in "ABC"]
        try:
            start.wait()
            answer = api_client(HOARDER).post(
                f"/orders/{order['orderID']}/seats",
                {"seats": seats},
                content_type="application/json",
                **bearer(order["token"]),
            )
            answers.append(answer.status_code)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(row, order)) for row, order in enumerate(orders, start=1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_control_without_the_clients_lock_parallel_changes_get_past_the_limit(limits, big_flight, monkeypatch):
    """The control: without the client's advisory locks each parallel change counts before the others
    commit, and together they hold more than the limit. Every change waits, after its count and before its
    commit, until all have counted: the interleaving the locks prevent, made certain rather than likely."""
    monkeypatch.setattr("orders.selectors.holds_locks_sql", lambda alias: "NULL")
    counted = threading.Barrier(ORDERS_LIMIT)
    refuse_if_over = client_limits._refuse_if_over

    def after_all_counted(*args, **kwargs):
        counted.wait(timeout=30)
        return refuse_if_over(*args, **kwargs)

    monkeypatch.setattr(client_limits, "_refuse_if_over", after_all_counted)
    hoarder = api_client(HOARDER)
    orders = [create(hoarder, big_flight.code).json() for _ in range(ORDERS_LIMIT)]
    answers = parallel_best(orders)
    assert sorted(answers).count(200) == ORDERS_LIMIT, answers
    assert held_from(HOARDER) == 9 * ORDERS_LIMIT > HOLD_LIMIT


def send(base: str, path: str, body: dict, *, source: str, token: str | None = None) -> tuple[int, dict]:
    """A POST from `source`, as a proxy we trust (TRUSTED_PROXIES=127.0.0.1) reports the client."""
    headers = {"Content-Type": "application/json", "X-Forwarded-For": source}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("hold_limit", "held"), [(0, 180), (HOLD_LIMIT, HOLD_LIMIT)], ids=["limits-off", "limits-on"])
def test_the_scripted_hoarder_against_the_real_server(tmp_path, settings, hold_limit, held):
    """A scripted hoarder: 20 orders x best 9 from one address against the server `make run` starts. With
    the limits off (as before them) it holds the whole 180-seat flight; with the defaults, 18 seats."""
    create_flight(
        code="F-100", origin="Tel Aviv", destination="Athens", departs_at=timezone.now(), rows=30, letters="ABCDEF"
    )
    processes = Processes(tmp_path)
    processes.configure(
        settings,
        REDIS_URL="",
        TRUSTED_PROXIES="127.0.0.1",
        CLIENT_HOLD_LIMIT_SEATS=hold_limit,
        CLIENT_OPEN_ORDERS_LIMIT=ORDERS_LIMIT if hold_limit else 0,
    )
    port = free_port()
    processes.start_web(port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(base)
        answers = []
        for _ in range(20):
            status, order = send(base, "/orders", {"flightID": "F-100"}, source=HOARDER)
            if status != 201:
                answers.append(order.get("code"))
                continue
            status, body = send(
                base, f"/orders/{order['orderID']}/seats", {"best": 9}, source=HOARDER, token=order["token"]
            )
            answers.append(status if status == 200 else body.get("code"))
        print(f"hold limit {hold_limit}: answers {answers}; seats held by {HOARDER}: {held_from(HOARDER)}")
        assert held_from(HOARDER) == held
        status, order = send(base, "/orders", {"flightID": "F-100"}, source=BUYER)
        status, body = send(base, f"/orders/{order['orderID']}/seats", {"best": 2}, source=BUYER, token=order["token"])
        assert (status, body.get("code")) == ((409, "not_enough_seats") if hold_limit == 0 else (200, None))
    finally:
        processes.kill_all()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_limit_costs_the_lean_seat_change_no_statement(limits, big_flight):
    """tests/api/test_query_counts.py pins a seat change at 5 statements; with the limits on it stays 5: the
    client's locks are taken by the order's locking read, the count is a part of the one statement."""
    order = create(api_client(HOARDER), big_flight.code).json()
    path = f"/orders/{order['orderID']}/seats"
    assert lean("POST", path, {"seats": ["2A"]}, token=order["token"], address=HOARDER)[0] == 200  # channels made
    with CaptureQueriesContext(connection) as queries:
        status, _, _ = lean("POST", path, {"seats": ["1A", "1B"]}, token=order["token"], address=HOARDER)
    assert (status, len(queries)) == (200, 5), [q["sql"][:150] for q in queries]
    assert "pg_advisory_xact_lock" in queries[2]["sql"] and "co.client_address" in queries[3]["sql"]
