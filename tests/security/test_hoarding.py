"""Nobody can hoard a flight: a scripted hoarder, through every door, is stopped at the limit on what one
client may hold (live held seats per flight, open orders), while an ordinary buyer from another address
keeps booking (orders/services/client_limits.py, docs/security.md#holding-seats-what-one-client-may-hold).

A client is its address (IPv6 by its /64) and, separately, its browser session: either reaching a limit
refuses. Before the limits, 20 orders x best 9 from one address held every free seat of a flight."""

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.test import Client, RequestFactory
from django.utils import timezone

from inventory.models import HoldState, SeatHold
from orders import services
from orders.clients import client_keys
from orders.models import Order, OrderState
from tests.conftest import bearer
from tests.security.hoarding import (
    BUYER,
    HOARDER,
    HOLD_LIMIT,
    ORDERS_LIMIT,
    api_client,
    assert_refused,
    best,
    create,
    held_from,
    lean,
)

pytestmark = pytest.mark.django_db


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


def test_one_browser_rotating_addresses_is_counted_from_its_first_page_order(limits, big_flight):
    """A fresh browser has no session until its first order: that order too records the session, so one
    cookie jar with a new address for every order (the page form, then best 9) holds 18 seats, not 27."""
    browser = Client()
    for n in range(1, 5):
        address = f"192.0.2.{n}"
        order_id = browser.post(f"/book/{big_flight.code}", REMOTE_ADDR=address)["Location"].rsplit("/", 1)[1]
        hold_best_by_the_form(browser, order_id, "9", REMOTE_ADDR=address)
    orders = Order.objects.filter(flight=big_flight)
    held = SeatHold.objects.filter(order_id__in=orders.values("pk"), state=HoldState.HELD).count()
    assert held == HOLD_LIMIT
    assert orders.count() == 4 and not orders.filter(client_session="").exists()


def test_a_refused_first_page_order_leaves_no_session_behind(limits, big_flight):
    hoarder = api_client(HOARDER)
    for _ in range(ORDERS_LIMIT):
        create(hoarder, big_flight.code)
    page = Client(REMOTE_ADDR=HOARDER).post(f"/book/{big_flight.code}", follow=True)
    assert "One client may have at most 8 orders open" in page.content.decode()
    assert not Session.objects.exists()


# --- the lean JSON path: explicit seats ----------------------------------------------------------------


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
        pages.append(hold_best_by_the_form(hoarder, order_id, "9"))
    assert all(page.status_code == 200 for page in pages)
    assert "Seats updated." in pages[1].content.decode()
    refused = pages[2].content.decode()
    assert "One client may hold at most 18 seats on flight F-900" in refused
    assert held_from(HOARDER) == 18
    # The seat form (checked boxes) meets the same limit.
    page = hoarder.post(f"/booking/{order_id}/seats", {"seats": ["30A"]}, follow=True)
    assert "One client may hold at most 18 seats" in page.content.decode()
    # Another traveller's browser books as ever.
    buyer = Client(REMOTE_ADDR=BUYER)
    order_id = buyer.post(f"/book/{big_flight.code}")["Location"].rsplit("/", 1)[1]
    assert "Seats updated." in hold_best_by_the_form(buyer, order_id, "9").content.decode()


def hold_best_by_the_form(browser: Client, order_id: str, count: str, **extra):
    """Find seats together, then Hold these seats, as the page without JavaScript posts them."""
    page = browser.post(f"/booking/{order_id}/best", {"count": count}, follow=True, **extra).content.decode()
    proposed = page.split('id="best-proposal-seats">')[1].split("</span>")[0]
    labels = [part.split('"')[0] for part in proposed.split('value="')[1:]]
    form = {"seats": labels, "count": count, "hold": "proposal"}
    return browser.post(f"/booking/{order_id}/seats", form, follow=True, **extra)


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


def test_a_lapsed_hold_no_longer_counts(limits, big_flight):
    hoarder = api_client(HOARDER)
    orders = [create(hoarder, big_flight.code).json() for _ in range(3)]
    assert [best(hoarder, o["orderID"], o["token"]).status_code for o in orders] == [200, 200, 429]
    Order.objects.filter(pk=orders[0]["orderID"]).update(hold_expires_at=timezone.now() - dt.timedelta(seconds=1))
    SeatHold.objects.filter(order_id=orders[0]["orderID"]).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert best(hoarder, orders[2]["orderID"], orders[2]["token"]).status_code == 200
    assert Order.objects.get(pk=orders[2]["orderID"]).state == OrderState.SEATS_SELECTED


# --- against the real server, as `make run` serves it --------------------------------------------------
