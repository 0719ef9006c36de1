"""Words a traveller reads, said for travellers: a booking opened in another browser (no API, no token, at
every page door and in either language), the try that runs while paying ("Try 1 of 3", not what is left
after it), and one email rule for the page and the server (its pattern in the page's words; "ada@example"
refused by both)."""

import json
import re

import pytest
from django.test import Client

from core.errors import InvalidInput
from orders import queue, services
from orders.services.passengers import EMAIL_PATTERN, clean_email
from orders.views import _page_words

pytestmark = pytest.mark.django_db


PORTUGUESE = {"Accept-Language": "pt-PT,pt;q=0.9"}
DEVELOPER_WORDS = ("token", "Authorization", "Bearer", "CSRF", "API", "/bookings/find")
# Every page door of a booking, each page and each form as posted with the JavaScript off.
DOORS = [
    ("get", "/booking/{id}"),
    ("get", "/booking/{id}/receipt"),
    ("post", "/booking/{id}/seats"),
    ("post", "/booking/{id}/pay"),
    ("post", "/booking/{id}/cancel"),
    ("post", "/booking/{id}/again"),
    ("post", "/booking/{id}/best"),
    ("post", "/booking/{id}/passengers"),
    ("get", "/booking/{id}/change"),
    ("get", "/booking/{id}/cancel/confirm"),
]


@pytest.mark.parametrize(("method", "path"), DOORS)
def test_a_booking_of_another_browser_is_explained_without_the_api_or_its_token(flight, method, path):
    order, _token = services.create_order(flight_code=flight.code, actor="test")
    url = path.format(id=order.pk)
    english = getattr(Client(), method)(url)
    assert english.status_code == 403
    text = english.content.decode()
    assert "<h1>This booking is not open to you</h1>" in text
    assert "This booking was started in another browser: open it there." in text
    assert "Find my booking" in text and "booking reference" in text
    assert not [word for word in DEVELOPER_WORDS if word in text.split("<main", 1)[1]]
    portuguese = getattr(Client(), method)(url, headers=PORTUGUESE).content.decode()
    assert '<html lang="pt">' in portuguese and "This booking" not in portuguese
    assert not [word for word in DEVELOPER_WORDS if word in portuguese.split("<main", 1)[1]]


def test_the_page_script_says_a_refused_token_in_the_travellers_words_in_english_too():
    errors = _page_words()["errors"]
    for code in ("token_required", "wrong_token", "token_expired", "csrf_failed"):
        assert errors[code] and not [word for word in DEVELOPER_WORDS if word in errors[code]], code
    assert "seats_taken" not in errors  # the services' own English words are more precise


def test_while_paying_the_page_says_which_try_runs(flight, monkeypatch):
    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)  # the first try stays running
    browser = Client()
    started = browser.post(f"/book/{flight.code}")  # this browser's order (its session)
    order_id = started["Location"].rsplit("/", 1)[1]
    named = [{"seat": "1A", "firstName": "Ada", "lastName": "Lovelace"}]
    services.select_seats(order_id=order_id, labels=["1A"], actor="test")
    services.set_passengers(order_id=order_id, passengers=named, email="ada@example.com", actor="test")
    services.submit_payment(order_id=order_id, code="12345", actor="test")
    text = browser.get(f"/booking/{order_id}").content.decode()
    assert re.search(r'id="attempts"\s*>Try <strong id="attempt-number">1</strong> of 3</p>', text), text
    assert "Tries left" not in text


def test_the_page_and_the_server_share_one_email_rule():
    assert _page_words()["emailPattern"] == EMAIL_PATTERN
    json.dumps(_page_words())  # goes into the page as JSON
    for refused in ("ada@example", "ada@@example.com", "a..b@example.com", "ada@-example.com"):
        assert not re.match(EMAIL_PATTERN, refused)
        with pytest.raises(InvalidInput) as refusal:
            clean_email(refused)
        assert refusal.value.code == "invalid_email"  # the page's words for it: orders/error_words.py
    for accepted in ("ada@example.com", "a.b+c@mail.example.co.uk", "ada@xn--bcher-kva.de"):
        assert re.match(EMAIL_PATTERN, accepted) and clean_email(accepted) == accepted


def test_the_passenger_forms_count_of_fields_is_said_in_the_singular_and_the_plural():
    from django.utils import translation

    words = _page_words()["passengers"]
    assert words["problem"] == "Check the passenger form: {count} field needs changing."
    assert words["problems"] == "Check the passenger form: {count} fields need changing."
    with translation.override("pt"):
        words = _page_words()["passengers"]
    assert words["problem"].endswith("{count} campo precisa de ser alterado.")
    assert words["problems"].endswith("{count} campos precisam de ser alterados.")
