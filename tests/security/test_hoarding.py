"""Nobody can hoard a flight: a scripted hoarder, through every door, is stopped at the limit on what one
client may hold (live held seats per flight, open orders), while an ordinary buyer from another address
keeps booking (orders/services/client_limits.py, docs/security.md#holding-seats-what-one-client-may-hold).

A client is its address (IPv6 by its /64) and, separately, its browser session: either reaching a limit
refuses. Before the limits, 20 orders x best 9 from one address held every free seat of a flight."""

import datetime as dt
import io
import json
import threading
import urllib.error
import urllib.request

import pytest
from django.db import close_old_connections, connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from flights.services import create_flight
from inventory.models import HoldState, SeatHold
from orders import services
from orders.clients import client_keys
from orders.models import Order, OrderState
from seatbooking.handlers import web_application
from tests.conftest import bearer
from tests.http import free_port, wait_for_server
from tests.processes import Processes

pytestmark = pytest.mark.django_db

HOARDER, BUYER = "203.0.113.66", "198.51.100.7"
HOLD_LIMIT, ORDERS_LIMIT = 18, 8


@pytest.fixture
def limits(settings):
    """The default limits (the suite turns them off: tests/conftest.py)."""
    settings.CLIENT_HOLD_LIMIT_SEATS, settings.CLIENT_OPEN_ORDERS_LIMIT = HOLD_LIMIT, ORDERS_LIMIT


@pytest.fixture
def big_flight(db):
    """A 180-seat flight, as F-100."""
    return create_flight(
        code="F-900", origin="Tel Aviv", destination="Rome", departs_at=timezone.now(), rows=30, letters="ABCDEF"
    )


def held_from(address: str) -> int:
    """Seats held by the orders created from `address` (the audit trail's actor names it)."""
    orders = Order.objects.filter(audit_entries__action="create", audit_entries__actor__endswith=f"@{address}")
    return SeatHold.objects.filter(order_id__in=orders.values("pk"), state=HoldState.HELD).count()


def api_client(address: str, **extra) -> Client:
    return Client(REMOTE_ADDR=address, **extra)


def create(client: Client, flight_code: str, **extra):
    return client.post("/orders", {"flightID": flight_code}, content_type="application/json", **extra)


def best(client: Client, order_id: str, token: str | None, count: int = 9, **extra):
    headers = bearer(token) if token else {}
    return client.post(
        f"/orders/{order_id}/seats", {"best": count}, content_type="application/json", **headers, **extra
    )


def assert_refused(answer, code: str) -> dict:
    assert answer.status_code == 429, answer.content
    body = answer.json()
    assert body["code"] == code, body
    assert int(answer["Retry-After"]) >= 1
    return body


# --- DRF: best seats, with and without a session ------------------------------------------------------


def test_a_hoarder_creating_20_orders_of_best_9_over_the_api_holds_18_seats_and_a_buyer_still_books(limits, big_flight):
    hoarder = api_client(HOARDER)
    answers = []
    for _ in range(20):
        created = create(hoarder, big_flight.code)
        if created.status_code != 201:
            answers.append(created)
            continue
        answers.append(best(hoarder, created.json()["orderID"], created.json()["token"]))
    codes = [a.status_code for a in answers]
    assert codes[:2] == [200, 200]  # two families' worth
    assert set(codes[2:]) == {429}
    refusals = {a.json()["code"] for a in answers[2:]}
    assert refusals == {"client_hold_limit", "client_order_limit"}  # 6 more orders, then no more orders
    hold_refusal = next(a.json() for a in answers if a.status_code == 429)
    assert hold_refusal["code"] == "client_hold_limit"
    assert "at most 18 seats on flight F-900" in hold_refusal["error"], hold_refusal
    assert (hold_refusal["limit"], hold_refusal["held"], hold_refusal["requested"]) == (18, 18, 9)
    assert held_from(HOARDER) == HOLD_LIMIT

    buyer = api_client(BUYER)
    created = create(buyer, big_flight.code).json()
    assert best(buyer, created["orderID"], created["token"]).status_code == 200
    assert held_from(BUYER) == 9


def test_an_ipv6_hoarder_is_counted_by_its_64(limits, big_flight):
    held = []
    for host in range(1, 5):  # four addresses of one /64
        client = api_client(f"2001:db8:1:2::{host}")
        created = create(client, big_flight.code).json()
        held.append(best(client, created["orderID"], created["token"]).status_code)
    assert held == [200, 200, 429, 429]


def test_one_browser_session_is_counted_whatever_its_addresses(limits, big_flight):
    """The same session cookie from a new address each time (a phone moving between networks, a script
    rotating proxies): the session reaches the limit though no address does."""
    browser = Client()
    browser.post(f"/book/{big_flight.code}", REMOTE_ADDR="192.0.2.1")  # the page makes the session
    answers = []
    for n in range(2, 6):
        address = f"192.0.2.{n}"
        created = create(browser, big_flight.code, REMOTE_ADDR=address)
        assert created.status_code == 201, created.content
        order = created.json()
        answers.append(best(browser, order["orderID"], order["token"], REMOTE_ADDR=address).status_code)
    assert answers == [200, 200, 429, 429]


# --- the lean JSON path: explicit seats ----------------------------------------------------------------


def lean(method: str, path: str, body: dict, *, token: str, address: str) -> tuple[int, dict, dict]:
    """A call through the web processes' WSGI application (the lean path), from `address`."""
    data = json.dumps(body).encode()
    request = RequestFactory().generic(method, path, data, content_type="application/json")
    environ = {
        **request.environ,
        "wsgi.input": io.BytesIO(data),
        "CONTENT_LENGTH": str(len(data)),
        "REMOTE_ADDR": address,
        "HTTP_AUTHORIZATION": f"Bearer {token}",
    }
    started: dict = {}

    def start_response(status, headers, exc_info=None):
        started.update(status=int(status.split()[0]), headers=dict(headers))

    response = web_application()(environ, start_response)
    content = b"".join(response)
    response.close()
    return started["status"], started["headers"], json.loads(content)


@pytest.mark.django_db(transaction=True)  # the lean path runs as in production: its own transactions
def test_a_hoarder_choosing_seats_on_the_lean_path_is_stopped_at_18(limits, big_flight):
    hoarder = api_client(HOARDER)
    orders = [create(hoarder, big_flight.code).json() for _ in range(4)]
    answers = []
    for row, order in enumerate(orders, start=1):
        seats = [f"{row}{letter}" for letter in "ABCDEF"] + [f"{row + 10}{letter}" for letter in "ABC"]
        answers.append(
            lean("POST", f"/orders/{order['orderID']}/seats", {"seats": seats}, token=order["token"], address=HOARDER)
        )
    assert [status for status, _, _ in answers] == [200, 200, 429, 429]
    _, headers, body = answers[2]
    assert body["code"] == "client_hold_limit" and int(headers["Retry-After"]) >= 1
    assert held_from(HOARDER) == 18
    # Changing the seats of an order it has (the same number) is still allowed: its own seats are replaced.
    first = orders[0]
    again = [f"20{letter}" for letter in "ABCDEF"] + [f"21{letter}" for letter in "ABC"]
    assert (
        lean("POST", f"/orders/{first['orderID']}/seats", {"seats": again}, token=first["token"], address=HOARDER)[0]
        == 200
    )
    # Releasing is never refused, and makes room.
    assert (
        lean("POST", f"/orders/{first['orderID']}/seats", {"seats": []}, token=first["token"], address=HOARDER)[0]
        == 200
    )
    third = orders[2]
    seats = [f"25{letter}" for letter in "ABCDEF"]
    assert (
        lean("POST", f"/orders/{third['orderID']}/seats", {"seats": seats}, token=third["token"], address=HOARDER)[0]
        == 200
    )
    # The token is the order's, wherever it is used from: the order counts for the client that created it.
    fourth = orders[3]
    assert (
        lean(
            "POST",
            f"/orders/{fourth['orderID']}/seats",
            {"seats": ["28A", "28B", "28C", "28D"]},
            token=fourth["token"],
            address=BUYER,
        )[0]
        == 429
    )


# --- the page forms without JavaScript ----------------------------------------------------------------


def test_a_hoarder_posting_the_page_forms_without_javascript_is_stopped_and_told_why(limits, big_flight):
    hoarder = Client(REMOTE_ADDR=HOARDER)
    pages = []
    for _ in range(3):
        order_id = hoarder.post(f"/book/{big_flight.code}")["Location"].rsplit("/", 1)[1]
        pages.append(hoarder.post(f"/booking/{order_id}/best", {"count": "9"}, follow=True))
    assert all(page.status_code == 200 for page in pages)
    assert "are held for you" in pages[1].content.decode()
    refused = pages[2].content.decode()
    assert "One client may hold at most 18 seats on flight F-900" in refused
    assert held_from(HOARDER) == 18
    # The seat form (checked boxes) meets the same limit.
    page = hoarder.post(f"/booking/{order_id}/seats", {"seats": ["30A"]}, follow=True)
    assert "One client may hold at most 18 seats" in page.content.decode()
    # Another traveller's browser books as ever.
    buyer = Client(REMOTE_ADDR=BUYER)
    order_id = buyer.post(f"/book/{big_flight.code}")["Location"].rsplit("/", 1)[1]
    assert "are held for you" in buyer.post(f"/booking/{order_id}/best", {"count": "9"}, follow=True).content.decode()


# --- open orders --------------------------------------------------------------------------------------


def test_one_client_may_have_8_open_orders_and_a_cancelled_one_makes_room(limits, big_flight):
    hoarder = api_client(HOARDER)
    made = [create(hoarder, big_flight.code) for _ in range(ORDERS_LIMIT)]
    assert [a.status_code for a in made] == [201] * ORDERS_LIMIT
    body = assert_refused(create(hoarder, big_flight.code), "client_order_limit")
    assert "at most 8 orders open" in body["error"] and body["open"] == 8
    assert create(api_client(BUYER), big_flight.code).status_code == 201  # another address is not affected
    first = made[0].json()
    assert hoarder.post(f"/orders/{first['orderID']}/cancel", **bearer(first["token"])).status_code == 200
    assert create(hoarder, big_flight.code).status_code == 201


def test_the_open_orders_limit_refuses_the_page_form_with_the_message(limits, big_flight):
    browser = Client(REMOTE_ADDR=HOARDER)
    for _ in range(ORDERS_LIMIT):
        assert browser.post(f"/book/{big_flight.code}").status_code == 302
    page = browser.post(f"/book/{big_flight.code}", follow=True)
    assert "One client may have at most 8 orders open" in page.content.decode()
    assert Order.objects.filter(flight=big_flight).count() == ORDERS_LIMIT


def test_an_empty_order_stops_counting_after_the_hold_time_and_ended_ones_never_count(limits, big_flight, settings):
    hoarder = api_client(HOARDER)
    made = [create(hoarder, big_flight.code).json() for _ in range(ORDERS_LIMIT)]
    assert create(hoarder, big_flight.code).status_code == 429
    long_ago = timezone.now() - dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS + 1)
    Order.objects.filter(pk=made[0]["orderID"]).update(updated_at=long_ago)  # left empty since
    assert create(hoarder, big_flight.code).status_code == 201


def test_a_repeated_create_at_the_limit_still_answers_with_the_order_it_made(limits, big_flight):
    """The same create again (a page that creates twice, a retry): the answer it had, not a refusal."""
    browser = Client(REMOTE_ADDR=HOARDER)
    browser.post(f"/book/{big_flight.code}")  # the session
    for _ in range(ORDERS_LIMIT - 2):
        assert create(browser, big_flight.code).status_code == 201
    body = {"flightID": big_flight.code, "orderID": "o-family-trip-0001"}
    first = browser.post("/orders", body, content_type="application/json")
    again = browser.post("/orders", body, content_type="application/json")
    assert first.status_code == again.status_code == 201
    assert first.json()["token"] == again.json()["token"]


def test_staff_are_not_limited(limits, big_flight, admin_user):
    request = RequestFactory().post("/orders", REMOTE_ADDR=HOARDER)
    request.user = admin_user
    assert client_keys(request) is None  # staff have no identity the limits count
    orders = [
        services.create_order(flight_code=big_flight.code, actor="staff:admin@x", client=client_keys(request))[0]
        for _ in range(ORDERS_LIMIT + 2)
    ]
    for order in orders[:3]:
        services.select_best_seats(order_id=order.pk, count=9, actor="staff:admin@x")
    assert SeatHold.objects.filter(state=HoldState.HELD).count() == 27


def test_the_limits_off_hold_nothing_back(big_flight):
    hoarder = api_client(HOARDER)
    for _ in range(20):
        created = create(hoarder, big_flight.code).json()
        best(hoarder, created["orderID"], created["token"])
    assert held_from(HOARDER) == 180  # the whole flight: what one address could do before the limits


# --- concurrency: one client's parallel seat changes cannot exceed the limit --------------------------


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
    commit, and together they hold more than the limit."""
    monkeypatch.setattr("orders.selectors.holds_locks_sql", lambda alias: "NULL")
    hoarder = api_client(HOARDER)
    held = []
    for _ in range(3):  # threads may happen to run one after another; three tries make that unlikely
        orders = [create(hoarder, big_flight.code).json() for _ in range(ORDERS_LIMIT)]
        parallel_best(orders)
        held.append(held_from(HOARDER))
        for order in orders:
            services.cancel_order(order_id=order["orderID"], actor="test")
        if held[-1] > HOLD_LIMIT:
            break
    assert max(held) > HOLD_LIMIT, held


def test_a_lapsed_hold_no_longer_counts(limits, big_flight):
    hoarder = api_client(HOARDER)
    orders = [create(hoarder, big_flight.code).json() for _ in range(3)]
    assert [best(hoarder, o["orderID"], o["token"]).status_code for o in orders] == [200, 200, 429]
    Order.objects.filter(pk=orders[0]["orderID"]).update(hold_expires_at=timezone.now() - dt.timedelta(seconds=1))
    SeatHold.objects.filter(order_id=orders[0]["orderID"]).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert best(hoarder, orders[2]["orderID"], orders[2]["token"]).status_code == 200
    assert Order.objects.get(pk=orders[2]["orderID"]).state == OrderState.SEATS_SELECTED


# --- against the real server, as `make run` serves it --------------------------------------------------


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
    """The review's script: 20 orders x best 9 from one address against the server `make run` starts. With
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
