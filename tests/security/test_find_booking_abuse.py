"""Find my booking cannot be turned against its owners: strangers' failed guesses never refuse the right
reference and name, while one address guessing is slowed down, and no refusal says whether a reference exists."""

# ruff: noqa: F811 - fixtures imported from the booking tests are the tests' parameters

import random
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.test import Client

from orders.services.reference import REFERENCE_ALPHABET
from seatbooking import abuse_settings
from tests.orders.test_booking_api import (  # noqa: F401 - fixtures
    confirmed_with_names,
    enqueued,
    gateway,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    """Find my booking's limits as shipped (the autouse fixture makes every rate generous), a clean count."""
    shipped = {scope: rate for scope, rate in abuse_settings.THROTTLE_RATES.items() if scope.startswith("find_booking")}
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, **shipped}
    for name in dir(abuse_settings):
        if name.startswith("FIND_BOOKING_"):
            setattr(settings, name, getattr(abuse_settings, name))
    cache.clear()
    yield settings
    cache.clear()


@pytest.fixture
def booking(api, flight, new_order, gateway, enqueued, django_capture_on_commit_callbacks):
    _order_id, _token, reference = confirmed_with_names(
        api, new_order, gateway, enqueued, django_capture_on_commit_callbacks
    )
    return reference


def find(api, reference, last_name, address):
    return api.post(
        "/bookings/find", {"reference": reference, "lastName": last_name}, format="json", REMOTE_ADDR=address
    )


def random_reference(rng, avoid):
    while (guess := "".join(rng.choice(REFERENCE_ALPHABET) for _ in range(6))) == avoid:
        pass
    return guess


def test_the_owner_gets_in_after_strangers_guessed_and_tried_wrong_names_on_the_reference(api, limits, booking):
    rng = random.Random(7)
    # Six addresses guess ten random references each (the attack that made every lookup 429 "overall").
    for host in range(6):
        for _ in range(10):
            find(api, random_reference(rng, booking), "Smith", f"203.0.113.{host}")
    # Then wrong names for the owner's own reference, five from one address and more from others
    # (a lock on the reference for everyone would refuse the owner here).
    for name in ("Turing", "Hopper", "Lamarr", "Curie", "Noether"):
        find(api, booking, name, "198.51.100.66")
    for host in range(10):
        find(api, booking, "Fermat", f"192.0.2.{host}")
    owner = find(api, booking, "Lovelace", "2001:db8:aaaa:1::5")  # a fresh address
    assert owner.status_code == 200, owner.content
    assert owner.json()["reference"] == booking
    # The same through the page, from another fresh address.
    page = Client(REMOTE_ADDR="100.64.0.9").post("/find-booking", {"reference": booking, "last_name": "Lovelace"})
    assert page.status_code == 302, page.content


def frozen(monkeypatch, start):
    """The failures' clock, set by the test (the per-address request rate keeps real time: made generous)."""
    clock = [start]
    monkeypatch.setattr("orders.throttles.time", SimpleNamespace(time=lambda: clock[0]))
    return clock


def test_one_address_guessing_is_slowed_down_with_a_doubling_wait(api, limits, booking, monkeypatch):
    limits.THROTTLE_RATES = {**limits.THROTTLE_RATES, "find_booking": "1000/min"}
    clock = frozen(monkeypatch, 1_000_000.0)
    rng = random.Random(11)
    attacker = "203.0.113.50"
    answers = []
    for _ in range(6):  # five free failures; the sixth makes the address wait
        answers.append(find(api, random_reference(rng, booking), "Smith", attacker).status_code)
    assert answers == [404] * 6
    refused = find(api, random_reference(rng, booking), "Smith", attacker)
    assert refused.status_code == 429 and refused.json()["limit"] == "address"
    assert refused["Retry-After"] == "2" and "your address" in refused.json()["error"]
    # Even the right name waits out the address's own failures (they were its own).
    assert find(api, booking, "Lovelace", attacker).status_code == 429
    waits = []
    for _ in range(10):  # each further failure doubles the wait: 2, 4, 8, ... up to 15 minutes
        clock[0] += 60 * 60
        assert find(api, random_reference(rng, booking), "Smith", attacker).status_code == 404
        waits.append(int(find(api, random_reference(rng, booking), "Smith", attacker)["Retry-After"]))
    assert waits == [4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    # Guesses that fit in an hour once the free ones are used: one per 15 minutes.
    assert 3600 // waits[-1] == 4
    # Another address is not slowed by this one's failures.
    assert find(api, booking, "Lovelace", "198.51.100.3").status_code == 200


def test_a_reference_being_guessed_slows_every_address_that_fails_on_it_but_not_the_owner(
    api, limits, booking, monkeypatch
):
    frozen(monkeypatch, 2_000_000.0)
    for host in range(5):  # five failures of the reference, whoever asks, are free
        assert find(api, booking, "Turing", f"203.0.113.{host}").status_code == 404
    sixth = find(api, booking, "Hopper", "203.0.113.10")
    assert sixth.status_code == 404  # the same answer as before: a failure, not a refusal
    again = find(api, booking, "Lamarr", "203.0.113.10")
    assert again.status_code == 429 and again.json()["limit"] == "reference"
    assert "this booking reference" in again.json()["error"]
    # That address may still look up other references, and the owner gets in from anywhere else.
    assert find(api, "ABCDEF", "Smith", "203.0.113.10").status_code == 404
    assert find(api, booking, "Lovelace", "198.51.100.77").status_code == 200
    seventh = find(api, booking, "Curie", "203.0.113.11")
    assert seventh.status_code == 404
    assert find(api, booking, "Curie", "203.0.113.11")["Retry-After"] == "4"  # doubling per failure of it


def test_a_refusal_does_not_say_whether_the_reference_exists(api, limits, booking, monkeypatch):
    frozen(monkeypatch, 3_000_000.0)
    missing = "".join(REFERENCE_ALPHABET[(REFERENCE_ALPHABET.index(c) + 1) % len(REFERENCE_ALPHABET)] for c in booking)
    answers = {}
    for reference, prefix in ((booking, "203.0.113"), (missing, "198.51.100")):
        for host in range(6):
            first = find(api, reference, "Turing", f"{prefix}.{host}")
            assert first.status_code == 404 and first.json()["code"] == "booking_not_found"
        refused = find(api, reference, "Turing", f"{prefix}.5")
        answers[reference] = (refused.status_code, refused.json(), refused["Retry-After"])
    assert answers[booking] == answers[missing]
    assert answers[booking][0] == 429


def test_the_page_is_slowed_like_the_api_and_says_why(limits, booking):
    browser = Client(REMOTE_ADDR="203.0.113.99")
    answers = [
        browser.post("/find-booking", {"reference": "ABCDEF", "last_name": "Smith"}).status_code for _ in range(6)
    ]
    assert answers == [404] * 6
    page = browser.post("/find-booking", {"reference": booking, "last_name": "Lovelace"})
    assert page.status_code == 429 and "from your address" in page.content.decode()
    assert page["Retry-After"] == "2"
