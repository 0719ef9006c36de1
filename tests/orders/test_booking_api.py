"""Fares, passengers and bookings over the API: totals, passengers, the reference, find my booking, best available."""

from decimal import Decimal

import pytest
from django.core import mail

from orders import queue, tasks
from orders.access import booking_token
from orders.gateway import ChargeResult
from orders.models import AttemptOutcome, Order
from orders.services.reference import REFERENCE_ALPHABET
from tests.conftest import bearer

pytestmark = pytest.mark.django_db

ADA = {"seat": "1A", "firstName": "Ada", "lastName": "Lovelace"}
CHARLES = {"seat": "1B", "firstName": "Charles", "lastName": "Babbage"}


class RecordingGateway:
    charges: list[dict] = []

    def charge(self, **kwargs):
        RecordingGateway.charges.append(kwargs)
        return ChargeResult(True, AttemptOutcome.SUCCESS)


@pytest.fixture
def gateway(settings):
    settings.PAYMENT_GATEWAY = "tests.orders.test_booking_api.RecordingGateway"
    RecordingGateway.charges = []
    return RecordingGateway.charges


@pytest.fixture
def priced_flight(flight):
    flight.fare_zones = [{"name": "Front", "rows": [1, 1], "price": "60.00"}]
    flight.base_fare, flight.currency = Decimal("25.50"), "CHF"
    flight.save()
    return flight


@pytest.fixture
def enqueued(monkeypatch):
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: calls.append(("payment", order_id)))
    monkeypatch.setattr(queue, "enqueue_confirmation", lambda order_id: calls.append(("email", order_id)))
    return calls


def post(api, path, body, token=None):
    return api.post(path, body, format="json", **(bearer(token) if token else {}))


def pay(api, order_id, token, django_capture_on_commit_callbacks):
    """Pay as a worker would: the payment task, then the email task if one was asked for."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert post(api, f"/orders/{order_id}/payment", {"code": "12345"}, token).status_code == 202
        tasks.process_payment(order_id)
    return callbacks


def test_the_status_gives_the_total_of_the_held_seats_and_the_currency(api, priced_flight, new_order):
    order_id, token = new_order()
    body = post(api, f"/orders/{order_id}/seats", {"seats": ["1A", "2A", "2B"]}, token).json()
    assert (body["Total"], body["Currency"], body["Reference"], body["Passengers"]) == ("111.00", "CHF", "", [])
    assert api.get(f"/orders/{order_id}/status", **bearer(token)).json()["Total"] == "111.00"


def test_a_code_alone_still_pays_the_total_and_gets_a_reference(
    api, priced_flight, new_order, gateway, enqueued, django_capture_on_commit_callbacks
):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A", "3C"]}, token)
    pay(api, order_id, token, django_capture_on_commit_callbacks)
    status = api.get(f"/orders/{order_id}/status", **bearer(token)).json()
    assert (status["State"], status["Total"], status["Currency"]) == ("CONFIRMED", "85.50", "CHF")
    assert [(c["amount"], c["currency"]) for c in gateway] == [(Decimal("85.50"), "CHF")]
    reference = status["Reference"]
    assert len(reference) == 6 and set(reference) <= set(REFERENCE_ALPHABET) and not set(reference) & set("0O1I")
    assert ("email", order_id) not in enqueued and mail.outbox == []  # no address: nothing to send


def test_the_amount_is_fixed_when_the_payment_starts(
    api, priced_flight, new_order, gateway, enqueued, django_capture_on_commit_callbacks
):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["2A"]}, token)
    with django_capture_on_commit_callbacks(execute=True):
        post(api, f"/orders/{order_id}/payment", {"code": "12345"}, token)
    priced_flight.base_fare = Decimal("999.00")
    priced_flight.save()
    tasks.process_payment(order_id)
    assert gateway[0]["amount"] == Decimal("25.50")
    assert api.get(f"/orders/{order_id}/status", **bearer(token)).json()["Total"] == "25.50"


def named(api, new_order, seats=("1A", "1B")):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": list(seats)}, token)
    response = post(
        api, f"/orders/{order_id}/passengers", {"passengers": [ADA, CHARLES], "email": "ada@example.com"}, token
    )
    return order_id, token, response


def test_passengers_and_the_contact_email_are_given_for_the_held_seats(api, flight, new_order):
    order_id, _token, response = named(api, new_order)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "passengers updated" and body["ContactEmail"] == "ada@example.com"
    assert body["Passengers"] == [ADA, CHARLES]
    assert Order.objects.get(pk=order_id).audit_entries.filter(action="passengers").count() == 1


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Ada\x00", "control or invisible character"),
        ("Ada\u200b", "control or invisible character"),
        ("Ada\nLovelace", "control or invisible character"),
        ("", "1-64 characters"),
        ("A" * 65, "1-64 characters"),
        ("Ada2", "not '2'"),
        ("<script>", "not '<', '>'"),
        ("-Ada", "start with a letter"),
        ("Lo--..''ve", "at most one hyphen"),
        ("Ἀθηνᾶ", "Latin letters"),
        (7, "JSON string"),
    ],
)
def test_a_name_no_passport_carries_is_a_clear_400(api, flight, new_order, name, says):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A"]}, token)
    response = post(
        api,
        f"/orders/{order_id}/passengers",
        {"passengers": [{**ADA, "lastName": name}], "email": "ada@example.com"},
        token,
    )
    assert response.status_code == 400, response.content
    assert says in str(response.json()), response.json()


@pytest.mark.parametrize("name", ["Lovelace", "O'Brien", "Núñez-García", "St. John", "Ørsted", "Nguyễn", "D’Arcy"])
def test_names_as_passports_write_them_are_accepted(api, flight, new_order, name):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A"]}, token)
    body = {"passengers": [{**ADA, "lastName": name}], "email": "ada@example.com"}
    assert post(api, f"/orders/{order_id}/passengers", body, token).status_code == 200


def test_passengers_must_match_the_held_seats_one_to_one(api, flight, new_order):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A", "1B"]}, token)
    for passengers in ([ADA], [ADA, CHARLES, {**CHARLES, "seat": "2C"}], [ADA, {**CHARLES, "seat": "1A"}]):
        response = post(api, f"/orders/{order_id}/passengers", {"passengers": passengers, "email": "a@b.org"}, token)
        assert response.status_code == 409 and response.json()["code"] == "passengers_do_not_match_seats"
    bad_email = post(api, f"/orders/{order_id}/passengers", {"passengers": [ADA, CHARLES], "email": "ada"}, token)
    assert bad_email.status_code == 400 and "email" in str(bad_email.json())
    other_id, _ = new_order()
    assert post(api, f"/orders/{other_id}/passengers", {"passengers": [ADA], "email": "a@b.org"}).status_code == 403


def confirmed_with_names(api, new_order, gateway, enqueued, capture):
    order_id, token, _response = named(api, new_order)
    pay(api, order_id, token, capture)
    return order_id, token, Order.objects.get(pk=order_id).reference


def test_find_my_booking_gives_the_order_and_a_token_that_opens_it(
    api, flight, new_order, gateway, enqueued, django_capture_on_commit_callbacks
):
    order_id, _token, reference = confirmed_with_names(
        api, new_order, gateway, enqueued, django_capture_on_commit_callbacks
    )
    found = post(api, "/bookings/find", {"reference": reference, "lastName": "BABBAGE"})
    assert found.status_code == 200, found.content
    assert found.json() == {"orderID": order_id, "token": booking_token(order_id, reference), "reference": reference}
    status = api.get(f"/orders/{order_id}/status", **bearer(found.json()["token"])).json()
    assert (status["State"], status["Reference"], status["Passengers"]) == ("CONFIRMED", reference, [ADA, CHARLES])
    assert api.get(f"/orders/{order_id}/status", **bearer("b-" + "0" * 64)).status_code == 403


def test_a_wrong_name_gets_the_same_answer_as_a_wrong_reference(
    api, flight, new_order, gateway, enqueued, django_capture_on_commit_callbacks
):
    _order_id, _token, reference = confirmed_with_names(
        api, new_order, gateway, enqueued, django_capture_on_commit_callbacks
    )
    other = next(c for c in "ABCDEFGH" if c != reference[0]) + reference[1:]
    wrong_name = post(api, "/bookings/find", {"reference": reference, "lastName": "Turing"})
    wrong_reference = post(api, "/bookings/find", {"reference": other, "lastName": "Lovelace"})
    assert (wrong_name.status_code, wrong_name.json()) == (wrong_reference.status_code, wrong_reference.json())
    assert wrong_name.status_code == 404 and wrong_name.json()["code"] == "booking_not_found"
    malformed = post(api, "/bookings/find", {"reference": reference[:5], "lastName": "Lovelace"})
    assert malformed.status_code == 400 and "6 capital letters" in str(malformed.json())


def test_an_order_not_yet_confirmed_cannot_be_found(api, flight, new_order):
    named(api, new_order)
    Order.objects.update(reference="ABCDEF")  # even with a reference, only a confirmed booking is found
    assert post(api, "/bookings/find", {"reference": "ABCDEF", "lastName": "Lovelace"}).status_code == 404


def test_find_my_booking_is_throttled_per_address_and_per_reference(api, settings, flight):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "find_booking": "3/min"}
    settings.FIND_BOOKING_REFERENCE_FREE_FAILURES = 1
    from django.core.cache import cache

    cache.clear()
    guesses = [post(api, "/bookings/find", {"reference": "ABCDEF", "lastName": n}) for n in ["Aa", "Bb", "Cc"]]
    assert [r.status_code for r in guesses] == [404, 404, 429]  # the reference's limit: the address that failed waits
    assert guesses[2].json()["code"] == "throttled" and "Retry-After" in guesses[2].headers
    elsewhere = {"REMOTE_ADDR": "203.0.113.7"}
    assert (
        api.post("/bookings/find", {"reference": "GHJKMN", "lastName": "Aa"}, format="json", **elsewhere).status_code
        == 404
    )
    # the first address has used its 3 requests: another reference is refused too
    assert post(api, "/bookings/find", {"reference": "PQRSTU", "lastName": "Aa"}).status_code == 429
    cache.clear()


def test_best_holds_n_seats_together_chosen_by_the_server(api, flight, new_order):
    order_id, token = new_order()
    other_id, other_token = new_order()
    post(api, f"/orders/{other_id}/seats", {"seats": ["1A"]}, other_token)
    body = post(api, f"/orders/{order_id}/seats", {"best": 2}, token).json()
    assert body["Seats"] == ["1B", "1C"] and body["State"] == "SEATS_SELECTED"  # beside 1A: nothing stranded
    again = post(api, f"/orders/{order_id}/seats", {"best": 3}, token).json()
    assert again["Seats"] == ["1D", "1E", "1F"]  # replaces the selection; 1B and 1C are free again
    assert api.get(f"/flights/{flight.code}/available-seats").json()["held"] == ["1A", "1D", "1E", "1F"]


def test_best_within_a_zone_and_the_shortfall_named(api, priced_flight, new_order):
    order_id, token = new_order()
    assert post(api, f"/orders/{order_id}/seats", {"best": 2, "zone": "Front"}, token).json()["Seats"] == ["1A", "1B"]
    assert post(api, f"/orders/{order_id}/seats", {"best": 2, "zone": "Standard"}, token).json()["Seats"] == [
        "2A",
        "2B",
    ]
    other_id, other_token = new_order()
    refused = post(api, f"/orders/{other_id}/seats", {"best": 7, "zone": "Front"}, other_token)
    assert refused.status_code == 409, refused.content
    assert (refused.json()["code"], refused.json()["free"], refused.json()["short"]) == ("not_enough_seats", 6, 1)
    assert "Only 6 seats are free in zone Front" in refused.json()["error"]
    unknown = post(api, f"/orders/{other_id}/seats", {"best": 1, "zone": "Cargo"}, other_token)
    assert unknown.status_code == 400 and "Front, Standard" in unknown.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        {"best": 0},
        {"best": 10},
        {"best": "2"},
        {"best": True},
        {"best": 2.0},
        {"seats": ["1A"], "best": 1},
        {},
        {"zone": "Front"},
        {"seats": ["1A"], "zone": "Front"},
    ],
)
def test_a_bad_best_request_is_a_clear_400(api, flight, new_order, body):
    order_id, token = new_order()
    response = post(api, f"/orders/{order_id}/seats", body, token)
    assert response.status_code == 400, response.content
    assert len(response.json()["error"]) > 10


def test_best_on_an_order_that_is_paying_is_refused_for_its_state(api, flight, new_order, enqueued):
    order_id, token = new_order()
    post(api, f"/orders/{order_id}/seats", {"seats": ["1A"]}, token)
    post(api, f"/orders/{order_id}/payment", {"code": "12345"}, token)
    refused = post(api, f"/orders/{order_id}/seats", {"best": 2, "zone": "Cargo"}, token)  # not a 404 for the zone
    assert refused.status_code == 409 and refused.json()["code"] == "wrong_state", refused.json()
